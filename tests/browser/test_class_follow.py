"""A class in two browsers: an instructor on a laptop and a learner on a phone. The learner
joins with the code on the instructor's screen; their tab follows the instructor to a lesson
and from step to step; they answer the step's question and see the reveal with the class's
chart; switched to free, their tab stays put while the instructor moves on. The class's
screens fit both widths and pass axe. Screenshots go to /tmp/class-shots/."""

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect

from archviz.classroom import store
from archviz.core.redis_conn import sync_client
from tests.harness.lab import RunningLab
from tests.harness.layout import cut_off, horizontal_scroll, small_text
from tests.harness.wait_for import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.integration]

LIVE_MS = 30_000  # the machine may be loaded by other suites
LAPTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
SHOTS = Path("/tmp/class-shots")
LESSON = re.compile(r"/lb/\?lesson=load-balancer$")


class Tabs:
    """The instructor's and the learner's pages, each in its own browser context, with the
    uncaught errors and missing static files they met."""

    def __init__(self, browser: Browser) -> None:
        self.problems: list[str] = []
        self.contexts = [browser.new_context(viewport=LAPTOP), browser.new_context(viewport=PHONE)]
        self.instructor, self.learner = (context.new_page() for context in self.contexts)
        for page in (self.instructor, self.learner):
            page.on("pageerror", lambda error: self.problems.append(f"uncaught: {error}"))
            page.on("response", self._check)
            page.set_default_navigation_timeout(60_000)

    def _check(self, response) -> None:
        if "/static/" in response.url and response.status >= 400:
            self.problems.append(f"{response.status} {response.url}")

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def tabs(browser: Browser, lab: RunningLab, log_in_instructor) -> Iterator[Tabs]:
    """Both tabs, the instructor logged in and a class started; ended after the test."""
    SHOTS.mkdir(exist_ok=True)
    made = Tabs(browser)
    log_in_instructor(made.instructor, "/class/")
    made.instructor.get_by_role("button", name="Start a class").click()
    expect(made.instructor.locator(".class-code")).to_be_visible()
    yield made
    made.instructor.goto(lab.url + "/class/")
    made.instructor.get_by_role("button", name="End the class").click()
    expect(made.instructor.get_by_role("button", name="Start a class")).to_be_visible()
    made.close()
    assert made.problems == []


@contextlib.contextmanager
def _lab_output_on_failure(lab: RunningLab) -> Iterator[None]:
    """A failure says what the lab printed last: a lab that stopped serving is no UI bug."""
    try:
        yield
    except Exception as error:
        output = lab.process.output(last=80)
        raise AssertionError(f"{error}\n--- the lab's last output:\n{output}") from error


def _join(tabs: Tabs, lab: RunningLab, name: str = "Ada") -> None:
    code = tabs.instructor.locator(".class-code").inner_text().replace(" ", "")
    tabs.learner.goto(f"{lab.url}/class/join/{code}/")
    tabs.learner.get_by_label("Your name").fill(name)
    tabs.learner.get_by_role("button", name="Join").click()
    expect(tabs.learner.locator("#class-bar")).to_contain_text(f"In class as {name}")


def _step_title(page: Page):
    return page.locator("#lesson-panel .lesson-step-title")


def _caught_up(tabs: Tabs, lab: RunningLab, **where: object) -> None:
    """The class in the lab's Redis is at `where` (the instructor's move was carried out), and
    the learner's tab has had that state's frame (its bar shows the state's seq)."""
    client = sync_client(lab.redis_url)
    state = wait_for(
        lambda: store.current(client),
        f"the class at {where}",
        LIVE_MS / 1000,
        until=lambda state: state and all(state["where"][k] == v for k, v in where.items()),
    )
    bar = tabs.learner.locator("#class-bar")
    expect(bar).to_have_attribute("data-seq", str(state["seq"]), timeout=LIVE_MS)


def _open_lesson_at_question(tabs: Tabs, lab: RunningLab) -> None:
    tabs.instructor.goto(lab.url + "/lb/?lesson=load-balancer")
    expect(_step_title(tabs.instructor)).to_contain_text("Step 1 of 5")
    expect(tabs.learner).to_have_url(LESSON, timeout=LIVE_MS)
    tabs.instructor.keyboard.press("ArrowRight")  # a presenter remote's "next"
    expect(_step_title(tabs.instructor)).to_contain_text("Step 2 of 5: Too much work")
    expect(_step_title(tabs.learner)).to_contain_text("Step 2 of 5: Too much work", timeout=LIVE_MS)


def _ask_and_reveal(tabs: Tabs, choice: str) -> None:
    tabs.instructor.get_by_role("button", name="Ask the class").click()
    poll = tabs.learner.locator("#class-bar .class-poll")
    expect(poll).to_contain_text("Predict: What does a client see", timeout=LIVE_MS)
    poll.get_by_role("button", name=choice).click()
    expect(poll).to_contain_text(f"You answered: {choice}")
    summary = tabs.instructor.locator('#class-bar [data-field="summary"]')
    expect(summary).to_contain_text("1 answered", timeout=LIVE_MS)
    tabs.instructor.get_by_role("button", name="Reveal").click()
    expect(poll).to_contain_text("What the lab measured", timeout=LIVE_MS)
    expect(poll).to_contain_text(f"You said: {choice}")
    expect(poll.locator(".class-chart .main-svg").first).to_be_visible(timeout=LIVE_MS)
    expect(poll.locator(".class-total")).to_have_text("1 answer")
    expect(tabs.instructor.locator("#class-bar .class-chart .main-svg").first).to_be_visible()


def test_learner_follows_answers_and_stays_put_when_free(tabs: Tabs, lab: RunningLab) -> None:
    """Follow, predict-then-reveal, free and back, pause: what two people see, in order."""
    with _lab_output_on_failure(lab):
        _follow_answer_free(tabs, lab)


def _follow_answer_free(tabs: Tabs, lab: RunningLab) -> None:
    _join(tabs, lab)
    roster = tabs.instructor.locator("#class-roster")
    expect(roster).to_contain_text("Ada", timeout=LIVE_MS)
    expect(roster).to_contain_text("following")
    tabs.instructor.screenshot(path=SHOTS / "instructor-class-screen-1366.png", full_page=True)

    _open_lesson_at_question(tabs, lab)
    _ask_and_reveal(tabs, "Some requests are refused at once (503)")
    tabs.instructor.screenshot(path=SHOTS / "instructor-lesson-reveal-1366.png")
    tabs.learner.screenshot(path=SHOTS / "learner-phone-reveal-390.png")

    # free: the learner stays on step 2 while the instructor moves to step 3, then elsewhere
    tabs.learner.get_by_role("button", name="Go free").click()
    summary = tabs.instructor.locator('#class-bar [data-field="summary"]')
    expect(summary).to_contain_text("0 following · 1 free", timeout=LIVE_MS)
    tabs.instructor.keyboard.press("PageDown")
    expect(_step_title(tabs.instructor)).to_contain_text("Step 3 of 5")
    _caught_up(tabs, lab, step=2)
    expect(_step_title(tabs.learner)).to_contain_text("Step 2 of 5")
    tabs.instructor.goto(lab.url + "/queue/")
    _caught_up(tabs, lab, path="/queue/")
    expect(tabs.learner).to_have_url(LESSON)

    # back to following: the learner's tab goes where the instructor is now
    tabs.learner.get_by_role("button", name="Follow again").click()
    expect(tabs.learner).to_have_url(re.compile(r"/queue/$"), timeout=LIVE_MS)

    # "Point": what the instructor clicks is highlighted in the learner's tab, until "Point"
    # is pressed again
    point = tabs.instructor.locator('#class-bar [data-action="point"]')
    point.click()
    expect(point).to_have_attribute("aria-pressed", "true")
    tabs.instructor.locator("#scenario-heading").click()
    pointed = tabs.learner.locator("#scenario-heading")
    expect(pointed).to_have_class(re.compile(r"\bclass-highlight\b"), timeout=LIVE_MS)
    expect(pointed).to_be_in_viewport(timeout=LIVE_MS)  # scrolled to, on a phone too
    tabs.learner.screenshot(path=SHOTS / "learner-phone-pointed-390.png")
    point.click()
    expect(pointed).not_to_have_class(re.compile(r"\bclass-highlight\b"), timeout=LIVE_MS)

    # "." (a presenter remote's blank key) pauses the class, and again resumes it
    tabs.instructor.keyboard.press(".")
    expect(tabs.learner.locator("#class-paused")).to_be_visible(timeout=LIVE_MS)
    expect(tabs.instructor.locator("#class-paused")).to_be_visible()
    tabs.instructor.keyboard.press(".")
    expect(tabs.learner.locator("#class-paused")).to_be_hidden(timeout=LIVE_MS)


def test_class_screens_fit_and_read(tabs: Tabs, lab: RunningLab) -> None:
    """During a class, at 1366 and 390 px: the instructor's screen and the learner's lesson
    page with a revealed question: no sideways scroll, no tiny text, nothing cut off, and no
    serious axe violation."""
    _join(tabs, lab, "Grace")
    _open_lesson_at_question(tabs, lab)
    _ask_and_reveal(tabs, "It waits longer, but every request is answered")
    axe = Axe()
    lesson = "/lb/?lesson=load-balancer"
    cases = [(tabs.learner, lesson, PHONE), (tabs.instructor, "/class/", PHONE),
             (tabs.instructor, "/class/", LAPTOP), (tabs.learner, lesson, LAPTOP)]  # fmt: skip
    for page, path, view in cases:
        page.set_viewport_size(view)
        if not page.url.endswith(path):
            page.goto(lab.url + path)
        expect(page.locator("#class-bar")).to_be_visible()
        if path.startswith("/lb/"):
            expect(page.locator("#class-bar .class-chart .main-svg").first).to_be_visible(
                timeout=LIVE_MS
            )
        who = "learner" if page is tabs.learner else "instructor"
        name = f"fit-{who}-{path.strip('/').split('/')[0]}"
        page.screenshot(path=SHOTS / f"{name}-{view['width']}.png")  # what the screen shows
        page.screenshot(path=SHOTS / f"{name}-{view['width']}-full.png", full_page=True)
        violations = [
            f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:6]}"
            for v in axe.run(page).response["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        found = {
            "horizontal scroll (px)": horizontal_scroll(page),
            "text under 12 px": small_text(page),
            "cut off at the edge": cut_off(page),
            "serious axe violations": violations,
        }
        assert {k: v for k, v in found.items() if v} == {}, (path, view)
