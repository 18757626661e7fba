"""A lone learner's path in a real browser: the sign-in link the lab prints makes their tab
the instructor; from the course they open the first lesson, run its steps on the lab, see
the failure (requests refused with 503s) revealed with the numbers measured, then the fix."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.harness.lab import RunningLab

pytestmark = [pytest.mark.browser, pytest.mark.integration]

RUN = re.compile(r"^(Set up the lab and run this step|Run this step)$")


def _sign_in_link(lab: RunningLab) -> str:
    """A fresh one-time link, as `manage.py signin_link` prints it for the running lab."""
    return re.search(r"http://\S+/accounts/solo/\S+", lab.manage("signin_link")).group(0)


def _run_step(page: Page, title: str) -> None:
    panel = page.locator("#lesson-panel")
    expect(panel.locator(".lesson-step-title")).to_contain_text(title)
    panel.get_by_role("button", name=RUN).click()
    expect(panel.locator(".lesson-status")).to_contain_text("Seen:", timeout=45_000)
    # the reveal's numbers are of that moment, said beside them: the page's go on moving
    expect(panel.locator(".lesson-status")).to_contain_text(
        re.compile(r"Figures as at \d\d:\d\d:\d\d; the page's own keep moving")
    )


def test_a_lone_learner_signs_in_and_sees_the_failure_before_the_fix(
    page: Page, lab: RunningLab
) -> None:
    page.goto(_sign_in_link(lab))
    page.get_by_role("button", name="Sign in as the lab's instructor").click()
    expect(page.locator(".site-user")).to_contain_text("solo · instructor")
    assert page.url == lab.url + "/"  # the course

    first = page.locator(".lesson-card").first
    expect(first).to_contain_text("The load balancer spreads requests")
    first.get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"/lb/\?lesson=load-balancer$"))
    panel = page.locator("#lesson-panel")

    _run_step(page, "One address, many servers")
    expect(panel.locator(".lesson-reveal")).to_contain_text("requests, and the busiest node took")
    panel.get_by_role("button", name="Next step →").click()

    # the failure: the learner predicts, runs the step, and the reveal quotes the 503s
    panel.get_by_label("Some requests are refused at once (503)").check()
    _run_step(page, "Too much work for the servers")
    reveal = panel.locator(".lesson-reveal")
    expect(reveal).to_contain_text("You predicted: Some requests are refused at once (503)")
    refused = re.search(r"(\d+) requests were refused with a 503", reveal.inner_text())
    assert refused and int(refused.group(1)) > 20
    expect(page.locator(".lb-node").first).to_contain_text(re.compile(r"[1-9]\d* refused"))
    panel.get_by_role("button", name="Next step →").click()

    # the fix: bigger nodes, no refusals in the last 5 s
    _run_step(page, "Scale up (vertically)")
    expect(panel.locator(".lesson-reveal")).to_contain_text("No refusals in the last 5 s")
    expect(panel.locator(".lesson-dot.met")).to_have_count(3)

    page.goto(lab.url + "/")
    expect(page.locator(".lesson-card").first).to_contain_text("step 3 of 5")


def test_try_it_yourself_acts_on_the_lab_and_the_next_lesson_is_one_click_away(
    page: Page, lab: RunningLab, log_in_instructor
) -> None:
    """A lesson's last card: its buttons act on the lab for the learner in control, the
    page's own figures follow, and "Next lesson" opens the course's next lesson on its page.
    (The card is reached by the class bar's "go to this step", which presenter keys send.)"""
    log_in_instructor(page, "/lb/?lesson=load-balancer")
    panel = page.locator("#lesson-panel")
    expect(panel.locator(".lesson-step-title")).to_contain_text("One address, many servers")
    page.evaluate(
        """() => {
          const steps = JSON.parse(document.getElementById("lesson-panel-data").textContent).steps;
          document.dispatchEvent(
            new CustomEvent("archviz:lesson-goto", { detail: { step: steps.length } }));
        }"""
    )
    expect(panel.locator(".lesson-step-title")).to_have_text("Try it yourself")
    panel.get_by_role("button", name="Use least connections").click()
    expect(panel.locator(".lesson-status")).to_have_text("done: Use least connections")
    lab.wait_until(
        lambda s: s["lb"]["algorithm"] == "least_connections", "the learner's least connections"
    )
    now = page.locator("#current-algorithm")
    expect(now).to_have_attribute("data-algorithm", "least_connections", timeout=10_000)

    panel.get_by_role("link", name=re.compile("WebSockets are stateful")).click()
    expect(page).to_have_url(re.compile(r"/lb/\?lesson=websockets$"))
    expect(page.locator("#lesson-panel-title")).to_contain_text("WebSockets are stateful")
