"""The flight recorder in a real browser against a real lab: a SIGKILLed node, replayed,
goes down and comes up again on the lab page, under a REPLAY banner; then back to live."""

import time

import pytest
from playwright.sync_api import Page, expect

from archviz.core.redis_conn import sync_client
from archviz.recorder.keys import KEYFRAMES
from tests.harness.lab import RunningLab
from tests.harness.wait_for import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.integration]

# the node box's statuses as the page draws them, each change recorded in order
WATCH_STATUS = """(nodeId) => {
  window.statusesSeen = [];
  const box = document.querySelector(`[data-node-id="${nodeId}"]`);
  const note = () => {
    const now = box.getAttribute("data-status");
    if (window.statusesSeen[window.statusesSeen.length - 1] !== now) window.statusesSeen.push(now);
  };
  note();
  new MutationObserver(note).observe(box, { attributes: true, attributeFilter: ["data-status"] });
}"""

# a replay asked for on the page's own lab socket, as the timeline's Replay button sends it
REPLAY = """({ start, speed }) => import("/static/archviz/js/lib/socket.js")
  .then((m) => m.labSocket().send({ type: "replay", start, speed }))"""


def _keyframe_count(lab: RunningLab) -> int:
    return sync_client(lab.redis_url).xlen(KEYFRAMES)


def _newest_keyframe_after(lab: RunningLab, ms: int) -> bool:
    newest = sync_client(lab.redis_url).xrevrange(KEYFRAMES, count=1)
    return bool(newest) and int(newest[0][0].split(b"-")[0]) > ms


def test_a_replayed_sigkill_draws_the_node_going_down_and_up(
    page: Page, lab: RunningLab, log_in_instructor
) -> None:
    """Kill node-3 (SIGKILL), wait until it is back, replay from before the kill at 2x: the
    page says REPLAY and draws node-3 up, down, up; Back to live ends it."""
    log_in_instructor(page, "/lab/")
    expect(page.locator("body")).to_have_attribute("data-ready", "1", timeout=15_000)
    wait_for(lambda: _keyframe_count(lab) >= 2, "the recorder's first keyframes", timeout=30)
    box = page.locator('[data-node-id="node-3"]').first
    expect(box).to_have_attribute("data-status", "up")
    before_kill = round(time.time() * 1000) - 1200
    box.click()
    page.locator('#node-details button[data-action="kill"]').click()
    expect(box).not_to_have_attribute("data-status", "up", timeout=10_000)
    expect(box).to_have_attribute("data-status", "up", timeout=30_000)
    back_up = round(time.time() * 1000)
    wait_for(lambda: _newest_keyframe_after(lab, back_up), "a keyframe after it came back")

    expect(page.locator("#recorder")).to_be_visible()
    page.evaluate(WATCH_STATUS, "node-3")
    page.evaluate(REPLAY, {"start": before_kill, "speed": 2})
    banner = page.locator("#replay-banner")
    expect(banner).to_be_visible(timeout=10_000)
    expect(banner).to_contain_text("REPLAY")
    expect(banner).to_contain_text("2\u00d7")  # 2x, as the banner writes it
    # the status beside the picture does not say "live" while it shows the past
    expect(page.locator("#connection-status .text")).to_be_hidden()
    after = "getComputedStyle(document.getElementById('connection-status'), '::after').content"
    assert "not live" in page.evaluate(after)
    page.wait_for_function(
        """() => { const s = window.statusesSeen.join(" ");
                   return /up .*(down|starting).* up/.test(s); }""",
        timeout=60_000,
    )
    expect(page.locator('[data-kind="node"].tl-marker').first).to_be_attached()
    expect(banner).to_be_hidden(timeout=60_000)  # the replay's end: back to live by itself
    expect(box).to_have_attribute("data-status", "up")

    page.evaluate(REPLAY, {"start": before_kill, "speed": 0.25})  # a slow one, left early
    expect(banner).to_be_visible(timeout=10_000)
    banner.locator("button").click()
    expect(banner).to_be_hidden(timeout=10_000)


def test_a_replay_beyond_the_recording_is_refused_on_the_page(page: Page, lab: RunningLab) -> None:
    """A replay asked for an hour ahead: the page shows the server's error, and stays live."""
    page.goto(lab.url + "/lab/")
    expect(page.locator("body")).to_have_attribute("data-ready", "1", timeout=15_000)
    page.evaluate(REPLAY, {"start": round(time.time() * 1000) + 3_600_000, "speed": 1})
    expect(page.locator("#notices")).to_contain_text("beyond the recorded range", timeout=10_000)
    expect(page.locator("#replay-banner")).to_be_hidden()
    expect(page.locator("#connection-status")).to_have_attribute("data-state", "live")
