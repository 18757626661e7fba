"""Tabs that stop reading their lab socket, in a running lab: each is closed as too slow
(4008) and counted, the dashboard stops holding frames for it, and tabs that read go on."""

import asyncio
import json
from urllib.parse import urlsplit

import pytest
import redis.asyncio

from archviz.trace.events import TRACE_CHANNEL, make_event
from bench.abuse.rawsocket import connect
from tests.harness.clients import lab_socket, next_frame
from tests.harness.lab import RunningLab
from tests.harness.wait_for import async_wait_for

pytestmark = pytest.mark.integration
SILENT_TABS = 3
MAX_BATCHES = 1_000  # ~80 MB of frames per tab: far past any kernel buffer and the cap


def _batch() -> str:
    """200 events of ~400 bytes, as a busy balancer publishes them."""
    detail = {"path": "/work?" + "p" * 200, "reason": "round robin"}
    return json.dumps([make_event("lb.route", "lb", "node-1", detail=detail) for _ in range(200)])


def _dashboard(lab: RunningLab) -> dict:
    [dashboard] = lab.state()["dashboards"]
    return dashboard


async def _read_all(ws, seen: list[int]) -> None:
    async for _ in ws:
        seen[0] += 1


async def test_tabs_that_stop_reading_are_closed_as_too_slow_and_counted(
    lab: RunningLab,
) -> None:
    url = urlsplit(lab.url)
    silent = [
        await connect(url.hostname, url.port, "/ws/lab/", origin=lab.url, small_buffer=True)
        for _ in range(SILENT_TABS)
    ]
    assert [tab.status for tab in silent] == [101] * SILENT_TABS
    for tab in silent:
        tab.stop_reading()
    publisher = redis.asyncio.from_url(lab.redis_url)
    batch, seen = _batch(), [0]
    try:
        async with lab_socket(lab.url) as reading:
            reader = asyncio.create_task(_read_all(reading, seen))
            for sent in range(MAX_BATCHES):
                await publisher.publish(TRACE_CHANNEL, batch)
                if sent % 25 == 24 and _dashboard(lab)["too_slow_closes"] >= SILENT_TABS:
                    break
            await async_wait_for(
                lambda: _dashboard(lab)["too_slow_closes"] >= SILENT_TABS,
                "every silent tab closed as too slow",
            )
            codes = [await tab.close_code() for tab in silent]
            assert set(codes) <= {4008, None}  # None: reset before it read its close frame
            await async_wait_for(
                lambda: _dashboard(lab)["sockets"] == 1, "only the reading tab still served"
            )
            assert not reader.done() and seen[0] > 0  # the tab that reads was not closed
            reader.cancel()
        async with lab_socket(lab.url) as again:  # a closed tab comes back to a fresh state
            await next_frame(again, "welcome")
            await next_frame(again, "state")
    finally:
        for tab in silent:
            tab.close()
        await publisher.aclose()
