"""The sessions page in a real browser: a learner shops through the LB while an instructor
switches the session mode; the cart is lost, kept until a kill, or kept through one."""

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.harness.lab import RunningLab
from tests.sessions.helpers import kill_node, wait_for_restart

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def _open(page: Page, lab: RunningLab) -> None:
    page.goto(lab.url + "/sessions/")
    expect(page.locator("body")).to_have_attribute("data-ready", "1", timeout=15_000)
    expect(page.locator("#cart-requests li")).not_to_have_count(0, timeout=10_000)  # first view


@pytest.fixture(scope="module")
def teacher(browser: Browser, log_in_instructor):
    """An instructor's own browser context, on the sessions page."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    log_in_instructor(page, "/sessions/")
    yield page
    context.close()


def _switch(teacher: Page, learner: Page, lab: RunningLab, mode: str) -> None:
    """The instructor clicks the mode; the learner's page shows it; every node follows."""
    teacher.locator(f'[data-mode-switch="{mode}"]').click()
    expect(teacher.locator("#mode-message")).to_have_text(re.compile("Switched"), timeout=10_000)
    expect(learner.locator("#current-mode")).to_have_attribute("data-mode", mode, timeout=10_000)
    wanted = "consistent_hash" if mode == "sticky" else "round_robin"
    expect(learner.locator("#lb-algorithm")).to_have_attribute(
        "data-algorithm", wanted, timeout=10_000
    )
    expect(teacher.locator(f'[data-mode-switch="{mode}"]')).to_be_disabled()  # in use now


def _click(learner: Page, selector: str) -> dict:
    """Click a cart button and wait for its answer; the newest request row, as data."""
    count = learner.locator("#cart-requests li").count()
    learner.locator(selector).click()
    expect(learner.locator("#cart-requests li")).to_have_count(min(count + 1, 30), timeout=10_000)
    row = learner.locator("#cart-requests li").first
    return {
        "node": row.get_attribute("data-node"),
        "found": row.get_attribute("data-found"),
        "ok": row.get_attribute("data-ok"),
        "outcome": learner.locator("#cart-outcome").get_attribute("data-outcome"),
    }


def _gone(state: dict, node_id: str, pid: int) -> bool:
    node = next(n for n in state["nodes"] if n["id"] == node_id)
    return node["status"] != "up" or node["pid"] != pid


def _view_after_kill(learner: Page) -> dict:
    """View the cart; the LB may refuse the first request after a SIGKILL (reset connection)."""
    for _ in range(4):
        answer = _click(learner, "#cart-view")
        if answer["ok"] == "true":
            return answer
    raise AssertionError("the cart could not be viewed after the kill")


def test_learner_sees_each_mode_lose_or_keep_the_cart(
    page: Page, teacher: Page, lab: RunningLab
) -> None:
    """Local: the cart vanishes between nodes; sticky: kept until its node is killed; Redis:
    kept across nodes and a kill. The learner is an anonymous tab; the instructor switches."""
    learner = page
    _open(learner, lab)
    # the lab starts with in-process sessions, which are not offered again
    expect(learner.locator("#current-mode")).to_have_attribute("data-mode", "local")
    expect(teacher.locator('[data-mode-switch="local"]')).to_be_disabled()
    expect(teacher.locator('[data-mode-switch="sticky"]')).to_be_enabled()
    _click(learner, "#cart-clear")
    adds = [_click(learner, f'[data-item="{item}"]') for item in ("apple", "bread", "cheese")]
    assert len({a["node"] for a in adds}) == 3, "round robin: each add on another node"
    assert adds[1]["outcome"] == "lost" and adds[1]["found"] == "false"
    expect(learner.locator('.sbox-holds[data-holds="old"]')).not_to_have_count(0)

    _switch(teacher, learner, lab, "sticky")
    _click(learner, "#cart-clear")
    adds = [_click(learner, f'[data-item="{item}"]') for item in ("apple", "bread", "cheese")]
    home = adds[0]["node"]
    assert {a["node"] for a in adds} == {home} and [a["outcome"] for a in adds] == ["kept"] * 3
    expect(learner.locator(f'[data-node="{home}"] .sbox-holds')).to_have_attribute(
        "data-holds", "mine"
    )
    old_pid = lab.node(home)["pid"]
    teacher.locator(f'[data-node="{home}"] [data-action="kill"]').click()  # SIGKILL
    lab.wait_until(lambda s: _gone(s, home, old_pid), f"{home} killed")
    after = _view_after_kill(learner)
    assert after["node"] != home and after["outcome"] == "lost"
    expect(learner.locator("#cart-outcome")).to_contain_text("Cart lost")
    wait_for_restart(lab, home, old_pid)
    killed = learner.locator(f'#node-events li[data-node="{home}"]').first
    expect(killed).to_have_attribute("data-state", "restarted", timeout=10_000)
    said = re.compile(rf"{home} was killed \(SIGKILL\).* at .*restarted it")
    expect(killed).to_contain_text(said)

    _switch(teacher, learner, lab, "redis")
    _click(learner, "#cart-clear")
    adds = [_click(learner, f'[data-item="{item}"]') for item in ("apple", "bread", "cheese")]
    assert len({a["node"] for a in adds}) == 3 and [a["outcome"] for a in adds] == ["kept"] * 3
    expect(learner.locator("#cart-items li")).to_have_count(3)
    expect(learner.locator("#redis-holds")).to_have_attribute("data-holds", "mine")
    victim = adds[-1]["node"]
    old_pid = kill_node(lab, victim)
    after = _view_after_kill(learner)
    assert after["outcome"] == "kept"
    expect(learner.locator("#cart-items li")).to_have_count(3)
    wait_for_restart(lab, victim, old_pid)
    # both kills stay on the page, newest first
    expect(learner.locator("#node-events li[data-state]")).to_have_count(2, timeout=10_000)
    expect(learner.locator("#node-events li").first).to_have_attribute("data-node", victim)


def test_learner_cannot_switch_the_mode_even_by_hand(page: Page, lab: RunningLab) -> None:
    """No mode buttons for a learner, and a hand-made session.mode frame is refused."""
    _open(page, lab)
    expect(page.locator("[data-mode-switch]")).to_have_count(0)
    reason = page.evaluate(
        """() => new Promise((resolve) => {
            const ws = new WebSocket(`ws://${location.host}/ws/lab/`);
            ws.onopen = () => ws.send(JSON.stringify({type: "session.mode", mode: "local"}));
            ws.onmessage = (m) => {
              const frame = JSON.parse(m.data);
              if (frame.type === "error") { ws.close(); resolve(frame.reason); }
            };
        })"""
    )
    assert "only instructors" in reason


def test_a_bad_item_name_is_refused_and_shown_as_text(page: Page, lab: RunningLab) -> None:
    """Markup as an item name gets the node's reason; nothing from it runs in the page."""
    _open(page, lab)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.fill("#custom-item", "<img src=x onerror=alert(1)>")
    answer = _click(page, "#custom-add")
    assert answer["ok"] == "false" and answer["outcome"] == "error"
    expect(page.locator("#cart-outcome")).to_contain_text("only letters, digits, spaces")
    assert dialogs == [] and page.locator("#cart-panel img").count() == 0
