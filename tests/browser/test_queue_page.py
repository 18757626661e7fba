"""The queue page in a real browser: an instructor stops the consumers and the backlog chart
rises; starts them and it falls. A learner can enqueue but sees no scenario buttons."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.harness.lab import RunningLab

pytestmark = [pytest.mark.browser, pytest.mark.integration]

LAST_BACKLOG = """() => {
  const chart = document.getElementById("chart-backlog");
  const y = chart && chart.data && chart.data[0] ? chart.data[0].y : [];
  const points = y.filter((v) => v !== null);
  return points.length ? points[points.length - 1] : null;
}"""


def _open_queue(page: Page, consumers_up: int = 0) -> None:
    expect(page.locator("body")).to_have_attribute("data-ready", "1", timeout=15_000)
    if consumers_up:
        expect(page.locator(".q-card[data-state='up']")).to_have_count(consumers_up, timeout=20_000)


def _backlog_at_least(page: Page, jobs: int) -> None:
    page.wait_for_function(f"() => ({LAST_BACKLOG})() >= {jobs}", timeout=30_000)


def test_learner_enqueues_jobs_but_has_no_scenario_buttons(page: Page, lab: RunningLab) -> None:
    """A learner's 5 jobs are counted as enqueued; the instructor buttons are not there."""
    page.goto(lab.url + "/queue/")
    _open_queue(page)
    expect(page.locator("#scenario-panel button")).to_have_count(0)
    before = lab.state()["queue"]["enqueued_total"]
    page.locator("#send-jobs").click()
    expect(page.locator("#send-jobs-note")).to_contain_text("Enqueued", timeout=10_000)
    lab.wait_until(lambda s: s["queue"]["enqueued_total"] == before + 5, "5 jobs enqueued")


def test_backlog_chart_rises_with_consumers_stopped_and_falls_when_started(
    page: Page, lab: RunningLab, log_in_instructor
) -> None:
    """Stop all consumers: the backlog chart climbs; start them: it drains back down."""
    log_in_instructor(page, "/queue/")
    _open_queue(page, consumers_up=2)
    page.fill("#producer-rate", "10")
    page.fill("#producer-work", "20")
    page.select_option("#producer-mode", "only")
    page.locator("#producer-apply").click()
    lab.wait_until(lambda s: s["traffic"]["queue"] == "only", "producers feeding the queue")
    page.locator("#scenario-panel button[data-action='stop']").click()
    expect(page.locator(".q-card[data-state='stopped']")).to_have_count(2, timeout=15_000)
    _backlog_at_least(page, 25)
    expect(page.locator("#q-queue")).to_have_class(re.compile(r"\bgrowing\b"))
    page.locator("#scenario-panel button[data-action='start']").click()
    page.wait_for_function(f"() => ({LAST_BACKLOG})() <= 3", timeout=30_000)
    expect(page.locator("#q-dead-list li")).to_have_count(0)
