"""Playwright on the system Chromium (Debian's `chromium`); CI requires it, laptops may skip."""

import pytest

from tests.conftest import browser_required, chromium_path

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
