"""The chat page in a real browser: two tabs on different nodes talk in Redis mode, do not
in local mode, and HTML in a message stays text."""

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.harness.lab import RunningLab

pytestmark = [pytest.mark.browser, pytest.mark.integration]


@pytest.fixture
def pages(
    page: Page, browser: Browser, browser_context_args: dict, lab: RunningLab, log_in_instructor
):
    """An instructor's tab and a learner's tab in the same room, on different nodes."""
    log_in_instructor(page, "/chat/")
    learner = browser.new_context(**browser_context_args).new_page()
    learner.goto(lab.url + "/chat/")
    _join(page, "ana")
    _join(learner, "ben")
    for _ in range(4):  # the LB's round robin puts the next connection on the next node
        if _node(learner) != _node(page):
            break
        _join(learner, "ben")
    assert _node(learner) != _node(page)
    yield page, learner
    learner.context.close()


def _join(page: Page, user: str, room: str = "browser") -> None:
    where = page.locator("#my-node")
    page.fill("#join-room", room)
    page.fill("#join-user", user)
    previous = where.get_attribute("data-node") or ""
    page.locator("#join-form button").click()
    expect(where).to_have_attribute("data-state", "live", timeout=15_000)
    expect(where).to_have_text(re.compile(r"you are on node-\d"))
    if previous:  # a rejoin: wait for the new connection's welcome
        expect(page.locator("#my-status")).to_contain_text(f"as {user}")


def _node(page: Page) -> str:
    return page.locator("#my-node").get_attribute("data-node")


def _say(page: Page, words: str) -> None:
    page.fill("#chat-text", words)
    page.locator("#send-form button").click()


def _switch(page: Page, mode: str) -> None:
    """Into this mode; the button of the mode in use is not offered, so none is clicked then."""
    shown = page.locator("#chat-mode")
    expect(shown).to_have_attribute("data-mode", re.compile("local|redis"), timeout=10_000)
    if shown.get_attribute("data-mode") != mode:
        page.locator(f'.mode-button[data-mode="{mode}"]').click()
    expect(shown).to_have_attribute("data-mode", mode, timeout=10_000)


def test_mode_buttons_show_the_current_mode_and_offer_only_the_other(pages) -> None:
    """In Redis mode only "Switch to local only" is offered, and the other way round."""
    teacher, _learner = pages
    for mode, other in (("redis", "local"), ("local", "redis"), ("redis", "local")):
        _switch(teacher, mode)
        expect(teacher.locator(f'.mode-button[data-mode="{mode}"]')).to_be_hidden()
        expect(teacher.locator(f'.mode-button[data-mode="{other}"]')).to_be_visible()
        card = teacher.locator(f'.chat-mode-card[data-mode="{mode}"]')
        expect(card.locator(".chat-mode-now")).to_have_text("the current mode")
        other_card = teacher.locator(f'.chat-mode-card[data-mode="{other}"]')
        expect(other_card.locator(".chat-mode-now")).to_be_hidden()


def test_the_header_counts_the_room_as_the_rooms_table_does(pages) -> None:
    """The header's "N connections (M people)" is the same as the room's row below."""
    teacher, _learner = pages
    row_count = teacher.locator('#chat-rooms tr[data-room="browser"] [data-field="count"]')
    expect(row_count).to_have_text("2 connections (2 people)", timeout=10_000)
    expect(teacher.locator("#my-status")).to_contain_text("2 connections (2 people) in the room")


def test_two_pages_on_different_nodes_talk_in_redis_mode(pages) -> None:
    """In Redis mode each tab receives the other's message although they are on other nodes."""
    teacher, learner = pages
    _switch(teacher, "redis")
    _say(teacher, "hello from ana")
    expect(learner.locator("#chat-messages")).to_contain_text("hello from ana", timeout=10_000)
    _say(learner, "hi ana, ben here")
    expect(teacher.locator("#chat-messages")).to_contain_text("hi ana, ben here", timeout=10_000)


def test_in_local_mode_the_other_node_does_not_get_it(pages) -> None:
    """In local mode a message stays on its node: the other tab never shows it."""
    teacher, learner = pages
    _switch(teacher, "local")
    try:
        _say(teacher, "only my node hears this")
        expect(teacher.locator("#chat-messages")).to_contain_text("only my node hears this")
        _say(learner, "fence from ben")  # the learner's node handled later traffic
        expect(learner.locator("#chat-messages")).to_contain_text("fence from ben")
        expect(learner.locator("#chat-messages")).not_to_contain_text("only my node hears this")
        expect(teacher.locator("#chat-paths")).to_contain_text("did not get it", timeout=10_000)
    finally:
        _switch(teacher, "redis")


def test_html_in_a_message_is_shown_as_text_and_not_run(pages) -> None:
    """`<img src=x onerror=...>` arrives as text: no image element, the handler never runs."""
    teacher, learner = pages
    _switch(teacher, "redis")
    attack = '<img src=x onerror="window.__chatXss = 1">'
    _say(teacher, attack)
    expect(learner.locator("#chat-messages")).to_contain_text(attack, timeout=10_000)
    assert learner.locator("#chat-messages img").count() == 0
    assert learner.evaluate("window.__chatXss") is None
    assert teacher.evaluate("window.__chatXss") is None
