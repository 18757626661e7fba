"""Shared state is never silent: what an instructor sets on the queue page, the LB page
(which shares the traffic generator) says was set there, and by whom."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import INSTRUCTOR
from tests.harness.lab import RunningLab

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def test_the_queue_pages_producers_are_named_on_the_lb_page(
    page: Page, lab: RunningLab, log_in_instructor
) -> None:
    """Producers on 'queue only' from the queue page: the LB page's traffic panel says who
    set the traffic and on which page; the queue page itself says nothing of its own change."""
    log_in_instructor(page, "/queue/")
    expect(page.locator("body")).to_have_attribute("data-ready", "1", timeout=15_000)
    page.fill("#producer-rate", "5")
    page.select_option("#producer-mode", "only")
    page.locator("#producer-apply").click()
    lab.wait_until(lambda s: s["traffic"]["queue"] == "only", "producers feeding the queue")
    lb = page.context.new_page()
    lb.goto(lab.url + "/lb/")
    notice = lb.locator("#traffic-panel .set-by[data-set-by='traffic']")
    expect(notice).to_be_visible(timeout=15_000)
    said = rf"Traffic set (just now|\d+ s ago) by {INSTRUCTOR} on the Queue page"
    expect(notice).to_have_text(re.compile(said))
    expect(notice).to_have_attribute("role", "status")
    assert float(notice.evaluate("(el) => getComputedStyle(el).fontSize").removesuffix("px")) >= 12
    expect(page.locator("#producer-panel .set-by")).to_be_hidden()
