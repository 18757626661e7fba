"""Every page on a phone (390 px) and a laptop (1366 px), once its live content is drawn: no
sideways scroll, no text under 12 px, nothing cut off at the edge, and axe-core finds no
serious or critical accessibility violation. A learner's view and an instructor's (with the
controls) at both widths; each demo page with its lesson's panel too. The skip link is the
first Tab stop.
Screenshots of every case are written to /tmp/phone-shots/."""

import re
from collections.abc import Callable, Iterator

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, Response, expect

from archviz.core import signin_links
from tests.harness.lab import RunningLab
from tests.harness.layout import cut_off, horizontal_scroll, small_text

pytestmark = [pytest.mark.browser, pytest.mark.integration]

LIVE_MS = 15_000
VIEWS = {"phone": {"width": 390, "height": 844}, "laptop": {"width": 1366, "height": 768}}
SERIOUS = ("serious", "critical")
SHOTS = "/tmp/phone-shots/{}.png"  # each case's page as drawn, to look at
SOLO = f"{signin_links.PATH}<token>"  # the one-time sign-in page; the token is made per module


def _connected(page: Page) -> None:
    status = page.locator("#connection-status")
    expect(status).to_have_attribute("data-state", "live", timeout=LIVE_MS)


def _ready(page: Page) -> None:
    expect(page.locator("body")).to_have_attribute("data-ready", "1", timeout=LIVE_MS)
    _connected(page)


def _lab(page: Page) -> None:
    _ready(page)
    expect(page.locator('svg [data-node-id^="node-"]')).to_have_count(3, timeout=LIVE_MS)


def _chat(page: Page) -> None:
    _connected(page)
    expect(page.locator("#my-node")).to_have_attribute("data-state", "live", timeout=LIVE_MS)


def _chat_room(page: Page) -> None:  # the page a learner opens on a phone: no status bar
    expect(page.locator("#my-node")).to_have_attribute("data-state", "live", timeout=LIVE_MS)


def _sessions(page: Page) -> None:
    _ready(page)
    expect(page.locator("#cart-requests li")).not_to_have_count(0, timeout=LIVE_MS)


def _course(page: Page) -> None:
    expect(page.locator(".lesson-card")).not_to_have_count(0)


def _lesson(page: Page) -> None:  # a demo page with a lesson's panel above it
    _connected(page)
    expect(page.locator("#lesson-panel .lesson-step-title")).to_be_visible()


def _with_lesson(check: Callable[[Page], None]) -> Callable[[Page], None]:
    """The demo page's own check, then its lesson's panel: both drawn before the layout is."""

    def checks(page: Page) -> None:
        check(page)
        _lesson(page)

    return checks


def _recordings(page: Page) -> None:  # instructors only: learners are refused it
    expect(page.locator("form.recorder-import")).to_be_visible()


def _class(page: Page) -> None:  # an instructor's start form; a learner lands on the join form
    expect(page.locator("main form button.primary")).to_be_visible()


def _class_join(page: Page) -> None:
    expect(page.get_by_label("The code on the instructor's screen")).to_be_visible()


def _login(page: Page) -> None:
    expect(page.locator('input[name="username"]')).to_be_visible()


def _solo(page: Page) -> None:  # the button, not a refusal: the link is unused
    expect(page.get_by_role("button", name="Sign in as the lab's instructor")).to_be_visible()


# the shared lab runs without the gateway demo's processes: its page shows them not running
PAGES: dict[str, Callable[[Page], None]] = {
    "/": _course,
    "/lb/?lesson=load-balancer": _with_lesson(_ready),
    "/chat/?lesson=chat-missed": _with_lesson(_chat),
    "/chat/?lesson=chat-pubsub": _with_lesson(_chat),
    "/sessions/?lesson=sessions": _with_lesson(_sessions),
    "/queue/?lesson=queue-buffer": _with_lesson(_ready),
    "/overload/?lesson=overload": _with_lesson(_ready),
    "/lab/": _lab,
    "/lb/": _ready,
    "/chat/": _chat,
    "/chat/room/lobby/": _chat_room,
    "/sessions/": _sessions,
    "/overload/": _ready,
    "/queue/": _ready,
    "/gateway/": _connected,
    "/accounts/login/": _login,
    SOLO: _solo,  # what a lone learner first sees: the link `manage.py lab` printed
    "/class/": _class,  # during a class: tests/browser/test_class_follow.py
    "/class/join/": _class_join,
}
INSTRUCTOR_PAGES: dict[str, Callable[[Page], None]] = {"/recorder/": _recordings}
SIGNED_OUT_PAGES = ("/accounts/login/", SOLO)  # an instructor, signed in, has no need of them
CASES = [
    *[
        pytest.param(view, "learner", path, id=f"{view}-learner-{path}")
        for view in VIEWS
        for path in PAGES
    ],
    *[
        pytest.param(view, "instructor", path, id=f"{view}-instructor-{path}")
        for view in VIEWS
        for path in PAGES | INSTRUCTOR_PAGES
        if path not in SIGNED_OUT_PAGES
    ],
]


class Tab:
    """One browser context's page, reused for every page at its width, with the problems the
    package's autouse check would catch (a missing static file, an uncaught error)."""

    def __init__(self, browser: Browser, view: str) -> None:
        self.context = browser.new_context(viewport=VIEWS[view])
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.page.on("response", self._check)
        self.page.on("pageerror", lambda error: self.problems.append(f"uncaught: {error}"))

    def _check(self, response: Response) -> None:
        if "/static/" in response.url and response.status >= 400:
            self.problems.append(f"{response.status} {response.url}")


@pytest.fixture(scope="module")
def tabs(browser: Browser, lab: RunningLab, log_in_instructor) -> Iterator[dict]:
    made: dict[tuple[str, str], Tab] = {}

    def tab(view: str, role: str) -> Tab:
        if (view, role) not in made:
            made[view, role] = Tab(browser, view)
            if role == "instructor":
                log_in_instructor(made[view, role].page, "/lab/")
        return made[view, role]

    yield tab
    for made_tab in made.values():
        made_tab.context.close()


@pytest.fixture(scope="module")
def solo_token(lab: RunningLab) -> str:
    """A fresh one-time link's token, made as on the lab's terminal. Every case opens the same
    one: a GET only shows the button, the POST uses it up (archviz/dashboard/solo.py)."""
    printed = lab.manage("signin_link")
    return re.search(rf"{re.escape(signin_links.PATH)}(\S+)", printed)[1]


@pytest.fixture(scope="module")
def axe() -> Axe:
    return Axe()


def _serious_violations(axe: Axe, page: Page) -> list[str]:
    violations = axe.run(page).response["violations"]
    return [
        f"{v['id']} ({v['impact']}): {[node['target'] for node in v['nodes']][:6]}"
        for v in violations
        if v["impact"] in SERIOUS
    ]


@pytest.mark.parametrize(("view", "role", "path"), CASES)
def test_page_fits_and_reads(
    tabs, axe: Axe, lab: RunningLab, request: pytest.FixtureRequest, view: str, role: str, path: str
) -> None:
    """Once live: no sideways scroll, no text under 12 px, nothing cut off, no serious axe
    violation."""
    tab = tabs(view, role)
    page = tab.page
    token = request.getfixturevalue("solo_token") if path == SOLO else ""
    page.goto(lab.url + path.replace("<token>", token))
    try:
        (PAGES | INSTRUCTOR_PAGES)[path](page)
    except AssertionError as error:  # say why: a page the lab stopped serving is not a layout bug
        output = lab.process.output(last=40)
        raise AssertionError(f"{path} never came live; the lab's last output:\n{output}") from error
    name = path.replace("<token>", "token").strip("/").replace("/", "-").replace("?lesson=", "-")
    name = name or "course"
    page.screenshot(path=SHOTS.format(f"{view}-{role}-{name}"), full_page=True)
    found = {
        "horizontal scroll (px)": horizontal_scroll(page),
        "text under 12 px": small_text(page),
        "cut off at the edge": cut_off(page),
        "serious axe violations": _serious_violations(axe, page),
        "static files / errors": tab.problems,
    }
    assert {k: v for k, v in found.items() if v} == {}


def test_skip_link_is_the_first_tab_stop_and_moves_to_main(tabs, lab: RunningLab) -> None:
    """Tab once: the skip link has focus, drawn with an outline; Enter: focus is in main."""
    page = tabs("laptop", "learner").page
    page.goto(lab.url + "/lb/")
    _ready(page)
    page.keyboard.press("Tab")
    skip = page.locator("a.skip-link")
    expect(skip).to_be_focused()
    expect(skip).to_have_text("Skip to content")
    assert page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle") != "none"
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()


def test_a_running_steps_figures_fit_a_phone(tabs, lab: RunningLab) -> None:
    """A step's live figures (long words beside their numbers, as the lesson panel lists
    them) stay on a phone's screen: the words wrap, the numbers are not cut off."""
    page = tabs("phone", "learner").page
    page.goto(lab.url + "/lb/?lesson=websockets")
    _lesson(page)
    page.evaluate(
        """() => {
          const dl = document.createElement("dl");
          dl.className = "lesson-figures";
          for (const [words, value] of [["WebSockets on the least busy node that is up", "30"],
              ["cart reads that did not find the learner's session on that node", "12"]]) {
            const dt = document.createElement("dt");
            dt.textContent = words;
            const dd = document.createElement("dd");
            dd.textContent = value;
            dl.append(dt, dd);
          }
          document.querySelector("#lesson-panel .lesson-step-title").after(dl);
        }"""
    )
    assert cut_off(page) == []
    assert horizontal_scroll(page) == 0
