"""What the stack dropped, on screen: the lab page's Redis box counts the subscribers Redis
closed, and the chat page's card of the node whose subscriber it was says it lost one."""

import asyncio
import contextlib
import os
import signal
import threading
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from archviz.chat.client import ChatClient, running
from archviz.chat.layers import group_channel
from tests.harness.flood import PUBSUB_LIMIT, flood_until_closed
from tests.harness.lab import RunningLab
from tests.harness.wait_for import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.integration]


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> Iterator[RunningLab]:
    """A lab whose Redis closes pub/sub clients past 1 MB, node-2's already closed once."""
    running = RunningLab(tmp_path_factory.mktemp("lab"),
                         ARCHVIZ_REDIS_PUBSUB_BUFFER_LIMIT=PUBSUB_LIMIT).start()  # fmt: skip
    try:
        running.wait_for_ready(3)
        node = running.node("node-2")
        with _chat_client(f"http://127.0.0.1:{node['port']}", "flood"):
            os.kill(node["pid"], signal.SIGSTOP)
            try:
                flood_until_closed(running.redis_url, group_channel("flood"))
            finally:
                os.kill(node["pid"], signal.SIGCONT)
            running.wait_until(
                lambda s: running.node("node-2")["drops"].get("pubsub_lost_total") == 1,
                "node-2 to count its lost subscriber",
            )
        yield running
    finally:
        running.process.close(timeout=15)


@contextlib.contextmanager
def _chat_client(url: str, room: str) -> Iterator[None]:
    """A chat client in `room` on that node for the block (its own loop, in a thread: the
    browser tests' Playwright owns this one)."""
    joined, leave = threading.Event(), threading.Event()

    async def hold() -> None:
        async with running(ChatClient(url, room, "bo")):
            joined.set()
            await asyncio.to_thread(leave.wait)

    thread = threading.Thread(target=asyncio.run, args=(hold(),), daemon=True)
    thread.start()
    wait_for(joined.is_set, "the chat client to join")
    try:
        yield
    finally:
        leave.set()
        thread.join(15)


def test_the_redis_box_counts_the_subscriber_redis_closed(page: Page, lab: RunningLab, tmp_path):
    page.goto(lab.url + "/lab/")
    box = page.locator('[data-component="redis"]')
    expect(box.locator('[data-field="subscribers-closed"]')).to_have_text(" · 1 subscriber closed")
    page.screenshot(path=str(tmp_path / "redis-box.png"))


def test_the_chat_page_says_node_2_lost_its_subscriber(page: Page, lab: RunningLab, tmp_path):
    page.goto(lab.url + "/chat/")
    card = page.locator('.chat-node-row[data-node="node-2"] [data-field="drops"]')
    expect(card).to_have_text("1 pub/sub connection lost")
    expect(page.locator('.chat-node-row[data-node="node-1"] [data-field="drops"]')).to_have_count(0)
    page.screenshot(path=str(tmp_path / "chat-nodes.png"), full_page=True)
