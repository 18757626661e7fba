"""The overload page in a real browser: it draws every node's gauge and the four charts from
a running lab, and the learner's own tab connects through the load balancer to a node and
says which; the scenarios are there but off for a learner, with the reason."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.harness.lab import RunningLab

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def test_the_page_draws_and_the_learners_tab_connects_to_a_node(
    page: Page, lab: RunningLab
) -> None:
    """Three node cards, four Plotly charts, and "on node-N" from the node's own hello."""
    page.goto(lab.url + "/overload/")
    expect(page.locator("body")).to_have_attribute("data-ready", "1", timeout=15_000)
    expect(page.locator("#ov-nodes .ov-node")).to_have_count(3, timeout=15_000)
    expect(page.locator(".ov-charts .js-plotly-plot")).to_have_count(4)
    expect(page.locator("#tab-node")).to_have_text(re.compile(r"^node-[123]$"), timeout=15_000)
    node = page.locator("#tab-node").inner_text()
    expect(page.locator("#tab-events li").first).to_have_text(re.compile(rf"connected to {node}$"))
    lab.wait_until(
        lambda s: sum(n["websockets"] for n in s["nodes"]) >= 1, "the tab's socket held by a node"
    )
    expect(page.locator("#scenario-panel button[data-action='shed']")).to_be_disabled()
    expect(page.locator("#scenario-locked")).to_contain_text("Only instructors")
    page.locator("#tab-toggle").click()
    expect(page.locator("#tab-node")).to_have_text("disconnected")
