"""Playwright on the system Chromium (Debian's `chromium`); CI requires it, laptops may skip.
One lab for the package's modules that need no lab of their own (tests/harness/shared_lab.py).
And the one way a browser test logs in: as its module lab's instructor."""

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Page, Response

from tests.conftest import browser_required, chromium_path
from tests.harness.browser import log_in
from tests.harness.lab import RunningLab
from tests.harness.shared_lab import SharedLab, module_lab_fixture, shared_lab_fixture

INSTRUCTOR, INSTRUCTOR_PASSWORD = "browser-teacher", "browser-instructor-pw-7"

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking"]  # fmt: skip


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    path = chromium_path()
    if path is None:
        message = "no system Chromium: `apt-get install chromium`"
        if browser_required():
            pytest.fail(f"ARCHVIZ_REQUIRE_BROWSER=1 but {message}")
        pytest.skip(message)
    return browser_type_launch_args | {"executable_path": path, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    return browser_context_args | {"viewport": {"width": 1440, "height": 900}}


@pytest.fixture(scope="package")
def shared_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedLab]:
    yield from shared_lab_fixture(tmp_path_factory)


@pytest.fixture(scope="module")
def lab(shared_lab: SharedLab, request: pytest.FixtureRequest) -> Iterator[RunningLab]:
    """The package's shared lab as it started; what the module changed is put back after it.
    (A module that needs a lab of another shape defines its own `lab`.)"""
    yield from module_lab_fixture(shared_lab, request)


@pytest.fixture(autouse=True)
def _every_static_file_loads_and_runs(request: pytest.FixtureRequest) -> Iterator[None]:
    """A page whose script, module or stylesheet is missing, or whose script throws, fails its
    test, whatever the test checks."""
    if "page" not in request.fixturenames:
        yield
        return
    problems: list[str] = []

    def check(response: Response) -> None:
        if "/static/" in response.url and response.status >= 400:
            problems.append(f"{response.status} {response.url}")

    page = request.getfixturevalue("page")
    page.on("response", check)
    page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    yield
    assert problems == []


@pytest.fixture(scope="module")
def log_in_instructor(lab: RunningLab) -> Callable[..., None]:
    """`log_in_instructor(page, next_path="/")`: the page logs in through the real login form
    as an instructor of the module's lab (made once in it), and lands on next_path."""
    lab.ensure_user(INSTRUCTOR, INSTRUCTOR_PASSWORD, instructor=True)

    def log_in_page(page: Page, next_path: str = "/") -> None:
        log_in(page, lab.url, INSTRUCTOR, INSTRUCTOR_PASSWORD, next_path)

    return log_in_page
