"""The load-balancer page in a real browser: algorithm switch, a learner's own requests,
and an instructor's kill moving the traffic to the other nodes."""

import re
from itertools import pairwise

import pytest
from playwright.sync_api import Page, expect

from tests.harness.lab import RunningLab

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def _open_lb(page: Page, lab: RunningLab) -> None:
    page.goto(lab.url + "/lb/")
    expect(page.locator("body")).to_have_attribute("data-ready", "1", timeout=15_000)
    expect(page.locator("#send-requests")).to_be_enabled(timeout=15_000)


def _start_traffic(page: Page, rate: int, ws_clients: int) -> None:
    """As an instructor: the traffic generator at `rate` requests/s of 5 ms each, holding
    `ws_clients` WebSockets open."""
    for field, value in (("rate", rate), ("work", 5), ("variance", 0), ("ws", ws_clients)):
        page.fill(f"#traffic-{field}", str(value))
    page.locator("#traffic-start").click()


def _my_answers(page: Page) -> list[str]:
    rows = page.locator("#my-requests li[data-node]")
    expect(rows).to_have_count(10, timeout=15_000)
    return [row.get_attribute("data-node") for row in rows.all()]


def test_learner_sends_requests_through_the_lb_and_sees_round_robin(
    page: Page, lab: RunningLab
) -> None:
    """A learner's tab is a real client: 10 requests spread over the 3 nodes in turn."""
    _open_lb(page, lab)
    expect(page.locator("#current-algorithm")).to_have_attribute("data-algorithm", "round_robin")
    expect(page.locator("#algorithm")).to_have_count(0)  # no controls for learners
    page.locator("#send-requests").click()
    answers = _my_answers(page)
    assert sorted(answers.count(n) for n in ("node-1", "node-2", "node-3")) == [3, 3, 4]
    refused = page.locator('#lb-balancer [data-field="refused"]')  # connections over the cap
    expect(refused).to_have_text("0")
    expect(refused).to_have_attribute("title", "client connections refused: 1000 were open")


def test_instructor_switches_algorithm_and_the_distribution_follows(
    page: Page, lab: RunningLab, log_in_instructor
) -> None:
    """Weights 8/1/1 and weighted round robin chosen in the page: node-1 serves 8 of 10."""
    lab.shell(
        "from archviz.dashboard.models import Node; "
        "Node.objects.filter(name='node-1').update(weight=8)"
    )
    lab.wait_until(
        lambda s: any(n["id"] == "node-1" and n["weight"] == 8 for n in s["nodes"]),
        "node-1 weight applied",
    )
    log_in_instructor(page, "/lb/")
    _open_lb(page, lab)
    page.select_option("#algorithm", "weighted_round_robin")
    expect(page.locator("#current-algorithm")).to_have_attribute(
        "data-algorithm", "weighted_round_robin", timeout=10_000
    )
    page.locator("#send-requests").click()
    assert _my_answers(page).count("node-1") == 8

    page.select_option("#algorithm", "round_robin")
    expect(page.locator("#current-algorithm")).to_have_attribute(
        "data-algorithm", "round_robin", timeout=10_000
    )


def test_instructor_kills_a_node_and_its_traffic_moves(
    page: Page, lab: RunningLab, log_in_instructor
) -> None:
    """With traffic flowing, Kill on node-2: its share drops to nothing, the others take it."""
    log_in_instructor(page, "/lb/")
    _open_lb(page, lab)
    _start_traffic(page, rate=30, ws_clients=0)
    node2 = page.locator('[data-lb-node="node-2"]')
    expect(node2.locator('[data-field="share"]')).to_have_text(
        re.compile(r"^[1-9]\d*%$"), timeout=20_000
    )
    node2.locator('button[data-action="kill"]').click()
    expect(node2.locator('[data-field="share"]')).to_have_text(
        re.compile(r"^(0%|—)$"), timeout=20_000
    )
    for other in ("node-1", "node-3"):
        share = page.locator(f'[data-lb-node="{other}"] [data-field="share"]')
        expect(share).to_have_text(re.compile(r"^([4-9]\d|100)%$"), timeout=20_000)
    page.locator("#traffic-stop").click()
    lab.wait_for_nodes_up(3)


def test_a_node_cards_headers_do_not_run_together(page: Page, lab: RunningLab) -> None:
    """On a laptop's width and a desktop's, each stat header on a node card (its text, not
    its box) ends well before the next one on its row starts."""
    _open_lb(page, lab)
    expect(page.locator("[data-lb-node] .lb-stat-label")).to_have_count(18, timeout=15_000)
    for width in (1280, 1440):
        page.set_viewport_size({"width": width, "height": 900})
        texts = page.evaluate(
            """() => [...document.querySelectorAll("[data-lb-node]")].map((card) =>
                [...card.querySelectorAll(".lb-stat-label")].map((label) => {
                  const range = document.createRange();
                  range.selectNodeContents(label);
                  const r = range.getBoundingClientRect();
                  return { text: label.textContent, left: r.left, right: r.right, top: r.top };
                }))"""
        )
        for labels in texts:
            for a, b in pairwise(labels):
                if abs(a["top"] - b["top"]) < 2:  # on one row
                    assert a["right"] + 6 <= b["left"], (
                        f"{width} px: {a['text']!r} runs into {b['text']!r}"
                    )


def test_a_restarted_node_says_why_it_has_no_websockets(
    page: Page, lab: RunningLab, log_in_instructor
) -> None:
    """Restart node-2 while WebSocket clients are open: its card shows 0 WebSockets and a
    caption saying its clients reconnected to the other nodes and stay there; the caption
    goes once no node holds a WebSocket any more."""
    log_in_instructor(page, "/lb/")
    _open_lb(page, lab)
    _start_traffic(page, rate=2, ws_clients=9)
    node2 = page.locator('[data-lb-node="node-2"]')
    caption = node2.locator('[data-field="restarted"]')
    expect(node2.locator('[data-field="websockets"]')).to_have_text(
        re.compile(r"^[1-9]\d*$"), timeout=20_000
    )
    expect(caption).to_be_hidden()
    node2.locator('button[data-action="restart"]').click()
    expect(caption).to_be_visible(timeout=30_000)
    expect(caption).to_contain_text("reconnected to the other nodes and stay there")
    expect(node2.locator('[data-field="websockets"]')).to_have_text("0")
    page.fill("#traffic-ws", "0")
    page.locator("#traffic-stop").click()
    expect(caption).to_be_hidden(timeout=20_000)
    lab.wait_for_nodes_up(3)
