"""One dashboard process's live feed, in process, on the real Redis: what reaches the pages."""

import asyncio
import json
from collections.abc import AsyncIterator, Callable

import pytest
import redis

from archviz.core import keys
from archviz.dashboard.feed import LabFeed, Subscription
from archviz.trace.events import make_event


@pytest.fixture
async def feed(redis_url: str) -> AsyncIterator[LabFeed]:
    running = LabFeed()
    yield running
    await running.stop()


async def _listening(client: redis.Redis) -> None:
    """Until the feed has subscribed to the trace channel (a publish before is lost)."""
    for _ in range(500):
        if client.pubsub_numsub(keys.TRACE_CHANNEL)[0][1] >= 1:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the feed did not subscribe to the trace channel within 10 s")


async def _frame(
    subscription: Subscription, kind: str, until: Callable[[dict], bool] = lambda _: True
) -> dict:
    """The next frame of this type that satisfies `until`."""
    async with asyncio.timeout(10):
        while True:
            frame = await subscription.next_frame()
            if frame["type"] == kind and until(frame):
                return frame


async def test_invalid_trace_events_are_counted_in_every_state_frame(
    feed: LabFeed, redis_client: redis.Redis
) -> None:
    """Invalid events published on the trace channel are dropped, and the count reaches the page."""
    subscription = feed.subscribe()
    await _listening(redis_client)
    assert (await _frame(subscription, "state"))["invalid_events"] == 0

    good = make_event("pubsub.publish", "node-1", "redis")
    batch = [good, {"v": 1, "kind": "nonsense"}, good | {"ts": "yesterday"}]
    redis_client.publish(keys.TRACE_CHANNEL, json.dumps(batch))
    assert (await _frame(subscription, "trace"))["events"] == [good]
    counted = await _frame(subscription, "state", lambda f: f["invalid_events"] > 0)
    assert counted["invalid_events"] == 2

    redis_client.publish(keys.TRACE_CHANNEL, b"[{not json")  # a whole batch unreadable
    counted = await _frame(subscription, "state", lambda f: f["invalid_events"] > 2)
    assert counted["invalid_events"] == 3

    late_tab = feed.subscribe()  # a tab opened later gets the count with its first frame
    assert (await _frame(late_tab, "state"))["invalid_events"] == 3


async def test_valid_events_leave_the_invalid_count_alone(
    feed: LabFeed, redis_client: redis.Redis
) -> None:
    """A batch of valid events is passed on whole and counts nothing."""
    subscription = feed.subscribe()
    await _listening(redis_client)
    events = [make_event("http.request", "dashboard", f"node-{n}") for n in (1, 2)]
    redis_client.publish(keys.TRACE_CHANNEL, json.dumps(events))
    assert (await _frame(subscription, "trace"))["events"] == events
    assert (await _frame(subscription, "state"))["invalid_events"] == 0
    assert feed.invalid_events == 0
