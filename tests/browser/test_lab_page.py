"""The lab page in a real browser against a real lab: what learners and instructors see."""

import re

import pytest
from playwright.sync_api import Page, expect

from archviz.core import keys
from archviz.core.redis_conn import sync_client
from tests.harness.lab import RunningLab

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def _open(page: Page, lab: RunningLab) -> None:
    page.goto(lab.url + "/lab/")
    expect(page.locator("body")).to_have_attribute("data-ready", "1", timeout=15_000)


def _node(page: Page, node_id: str):
    return page.locator(f'[data-node-id="{node_id}"]').first


def test_learner_sees_three_live_nodes_and_no_controls(page: Page, lab: RunningLab) -> None:
    """Three node boxes are up; a learner's details panel has Ping but no kill/stop/restart."""
    _open(page, lab)
    boxes = page.locator('svg [data-node-id^="node-"]')
    expect(boxes).to_have_count(3)
    for node_id in ("node-1", "node-2", "node-3"):
        expect(_node(page, node_id)).to_have_attribute("data-status", "up")
        pid = str(lab.node(node_id)["pid"])
        expect(_node(page, node_id).locator('[data-field="pid"]')).to_have_text(pid)
    _node(page, "node-1").click()
    details = page.locator("#node-details")
    expect(details).to_have_attribute("data-node-id", "node-1")
    expect(details.locator('button[data-action="ping"]')).to_be_visible()
    for action in ("kill", "stop", "restart"):
        expect(page.locator(f'button[data-action="{action}"]')).to_have_count(0)
    expect(page.locator("#connection-status")).to_have_attribute("data-state", "live")
    expect(page.locator("#redis-banner")).to_be_hidden()


def test_the_lab_lists_every_process_it_runs(page: Page, lab: RunningLab) -> None:
    """Not only the nodes: the balancer, the traffic generator and the bots are listed too,
    each with the pid the supervisor's record has."""
    _open(page, lab)
    table = page.locator("#process-list")
    for process, what in (("lb", "load balancer"), ("traffic", "traffic generator"),
                          ("chatbots", "chat bots"), ("node-1", "worker node")):  # fmt: skip
        row = table.locator(f'tr[data-process="{process}"]')
        expect(row).to_contain_text(what)
        expect(row).to_have_attribute("data-status", "up")
    pid = str(lab.node("node-2")["pid"])
    expect(table.locator('tr[data-process="node-2"] td').nth(3)).to_have_text(pid)


def test_the_picture_draws_every_process_of_the_lab(page: Page, lab: RunningLab) -> None:
    """Every process in the state has a box or a line in the topology, grouped by what it
    does: not only the nodes and the dashboard but the balancer (its listeners' ports too),
    the traffic generator, bots and consumers."""
    _open(page, lab)
    ids = [p["id"] for p in lab.state()["processes"]]
    assert {"lb", "traffic", "chatbots", "node-1"} <= set(ids)
    svg = page.locator("svg#topology")
    for process_id in ids:
        expect(svg.locator(f'[data-process~="{process_id}"]')).to_have_count(1)
    balancer = svg.locator('[data-group="balancer"]')
    expect(balancer).to_contain_text(f"nodes' listener :{lab.state()['lb']['port']}")
    expect(svg.locator('[data-group="clients"] [data-process="traffic"]')).to_have_attribute(
        "data-status", "up"
    )
    expect(svg.locator('[data-group="queue"] [data-process^="consumer"]').first).to_be_visible()


def test_ping_hops_appear_in_the_trace_log_in_order(page: Page, lab: RunningLab) -> None:
    """Ping node-2: the log shows dashboard → node-2 → Redis → dashboard, in time order."""
    _open(page, lab)
    _node(page, "node-2").click()
    page.locator('#node-details button[data-action="ping"]').click()
    expect(page.locator("#ping-result")).to_contain_text("Pong from node-2", timeout=10_000)
    first = page.locator('#trace-log li[data-kind="pubsub.deliver"]').first
    trace = first.get_attribute("data-trace")
    rows = page.locator(f'#trace-log li[data-trace="{trace}"]')
    expect(rows).to_have_count(3)
    hops = sorted(
        (float(r.get_attribute("data-ts")), r.get_attribute("data-kind"),
         r.get_attribute("data-src"), r.get_attribute("data-dst"))
        for r in rows.all()
    )  # fmt: skip
    assert [h[1:] for h in hops] == [
        ("http.request", "dashboard", "node-2"),
        ("pubsub.publish", "node-2", "redis"),
        ("pubsub.deliver", "redis", "dashboard"),
    ]


def test_instructor_kills_a_node_and_sees_it_go_down_and_come_back(
    page: Page, lab: RunningLab, log_in_instructor
) -> None:
    """Log in as an instructor, kill node-3: its box turns down, then up with a new pid."""
    log_in_instructor(page, "/lab/")
    expect(page.locator("body")).to_have_attribute("data-ready", "1", timeout=15_000)
    old_pid = str(lab.node("node-3")["pid"])
    box = _node(page, "node-3")
    box.click()
    page.locator('#node-details button[data-action="kill"]').click()
    expect(box).to_have_attribute("data-status", re.compile("down|starting"), timeout=5_000)
    expect(
        page.locator('#trace-log li[data-kind="node.down"][data-dst="node-3"]').first
    ).to_be_visible()
    expect(box).to_have_attribute("data-status", "up", timeout=20_000)
    expect(box.locator('[data-field="pid"]')).not_to_have_text(old_pid)


def test_invalid_trace_events_are_counted_on_screen(page: Page, lab: RunningLab) -> None:
    """A malformed event on the trace channel is not drawn, but the status bar counts it."""
    _open(page, lab)
    counter = page.locator("#invalid-events")
    expect(counter.locator(".count")).to_have_text("0")
    sync_client(lab.redis_url).publish(keys.TRACE_CHANNEL, '[{"v": 1, "kind": "node.up"}, 42]')
    expect(counter.locator(".count")).to_have_text("2", timeout=5_000)
    expect(counter).to_have_class(re.compile(r"\bnonzero\b"))
