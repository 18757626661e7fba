"""Shared state is never silent: what an instructor sets on the queue page, the LB page
(which shares the traffic generator) says was set there, and by whom."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import INSTRUCTOR
from tests.harness.lab import RunningLab

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def _queue_only(page: Page, lab: RunningLab, log_in_instructor, rate: int) -> None:
    """As an instructor on the queue page: producers at `rate` jobs/s, to the queue only."""
    log_in_instructor(page, "/queue/")
    expect(page.locator("body")).to_have_attribute("data-ready", "1", timeout=15_000)
    page.fill("#producer-rate", str(rate))
    page.select_option("#producer-mode", "only")
    page.locator("#producer-apply").click()
    lab.wait_until(lambda s: s["traffic"]["queue"] == "only", "producers feeding the queue")


def test_the_queue_pages_producers_are_named_on_the_lb_page(
    page: Page, lab: RunningLab, log_in_instructor
) -> None:
    """Producers on 'queue only' from the queue page: the LB page's traffic panel says who
    set the traffic and on which page; the queue page itself says nothing of its own change."""
    _queue_only(page, lab, log_in_instructor, rate=5)
    lb = page.context.new_page()
    lb.goto(lab.url + "/lb/")
    notice = lb.locator("#traffic-panel .set-by[data-set-by='traffic']")
    expect(notice).to_be_visible(timeout=15_000)
    said = rf"Traffic set (just now|\d+ s ago) by {INSTRUCTOR} on the Queue page"
    expect(notice).to_have_text(re.compile(said))
    expect(notice).to_have_attribute("role", "status")
    assert float(notice.evaluate("(el) => getComputedStyle(el).fontSize").removesuffix("px")) >= 12
    expect(page.locator("#producer-panel .set-by")).to_be_hidden()


def test_the_lb_page_says_the_arrivals_go_to_the_queue_only(
    page: Page, lab: RunningLab, log_in_instructor
) -> None:
    """With the queue page's 'queue only', the LB page never says it is sending requests: its
    clients box and traffic panel say the arrivals go to the queue, not to the balancer, and
    the clients box names who set that and where."""
    _queue_only(page, lab, log_in_instructor, rate=6)
    lb = page.context.new_page()
    lb.goto(lab.url + "/lb/")
    client = lb.locator("#lb-client")
    expect(client).to_have_attribute("data-state", "queue-only", timeout=15_000)
    expect(client.locator('[data-field="state"]')).to_have_text(
        "arrivals go to the queue only, none to the balancer"
    )
    expect(client.locator('[data-field="rate"]')).to_have_text("6 jobs/s to the queue")
    expect(client.locator(".set-by")).to_have_text(
        re.compile(rf"Traffic set .* by {INSTRUCTOR} on the Queue page")
    )
    status = lb.locator("#traffic-status")
    expect(status).to_have_text("to the queue only, not the balancer")
    expect(lb.locator("main")).not_to_contain_text(re.compile(r"sending \d+ req/s"))


def test_the_queue_pages_capacity_one_is_named_on_the_lb_pages_nodes(
    page: Page, lab: RunningLab, log_in_instructor
) -> None:
    """The queue page's "Give nodes capacity 1" leaves the LB page's nodes at capacity 1: the
    LB page's cards show it, and the notice under them says who did it and on which page."""
    log_in_instructor(page, "/queue/")
    expect(page.locator("body")).to_have_attribute("data-ready", "1", timeout=15_000)
    page.locator("#compare-capacity").click()
    lab.wait_until(
        lambda s: all(n["capacity"] == 1 for n in s["nodes"]), "every node at capacity 1"
    )
    lb = page.context.new_page()
    lb.goto(lab.url + "/lb/")
    notice = lb.locator(".lb-nodes-column .set-by[data-set-by='nodes']")
    expect(notice).to_have_text(
        re.compile(rf"Node settings set (just now|\d+ s ago) by {INSTRUCTOR} on the Queue page"),
        timeout=15_000,
    )
    capacities = lb.locator('#lb-nodes [data-field="capacity"]')
    expect(capacities).to_have_count(3)
    for capacity in capacities.all():
        expect(capacity).to_have_text("1")
