"""One dashboard process's live feed, in process, on the real Redis: what reaches the pages."""

import asyncio
import json
from collections.abc import AsyncIterator, Callable

import pytest
import redis

from archviz.core import keys
from archviz.dashboard.feed import (
    QUEUE_FRAMES,
    STATE_GAP_S,
    TRACE_FRAME_BYTES,
    LabFeed,
    Subscription,
    trace_frames,
)
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
            frame = json.loads(await subscription.next_frame())
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


def _big_event(n: int) -> dict:
    return make_event("lb.route", "lb", "node-1", detail={"path": f"/{n}" + "p" * 250})


def test_a_batch_too_big_for_one_frame_is_split_in_order_under_the_cap() -> None:
    """Each frame fits the lab socket's cap (autobahn would refuse a bigger one whole)."""
    events = [_big_event(n) for n in range(400)]
    frames, too_big = trace_frames(events)
    assert len(frames) > 1 and too_big == 0
    assert all(len(frame) <= TRACE_FRAME_BYTES for frame in frames)
    assert [e for frame in frames for e in json.loads(frame)["events"]] == events


def test_an_event_too_big_for_any_frame_is_counted_not_sent() -> None:
    small = make_event("lb.route", "lb", "node-1")
    big = _big_event(2)
    frames, too_big = trace_frames([small, big, small], max_bytes=len(json.dumps(small)) + 40)
    assert too_big == 1
    assert [json.loads(frame)["events"] for frame in frames] == [[small], [small]]


async def test_a_big_published_batch_reaches_the_tab_in_frames_under_the_cap(
    feed: LabFeed, redis_client: redis.Redis
) -> None:
    subscription = feed.subscribe()
    await _listening(redis_client)
    events = [_big_event(n) for n in range(400)]
    redis_client.publish(keys.TRACE_CHANNEL, json.dumps(events))
    received: list[dict] = []
    while len(received) < len(events):
        received += (await _frame(subscription, "trace"))["events"]
    assert received == events and feed.invalid_events == 0


async def test_a_tab_whose_queue_is_full_is_told_how_many_frames_it_missed() -> None:
    """Past its queue's room, frames are dropped; the next thing it reads says how many."""
    subscription = Subscription()
    for n in range(QUEUE_FRAMES + 5):
        subscription.offer(json.dumps({"type": "trace", "n": n}))
    assert json.loads(await subscription.next_frame()) == {"type": "lagging", "dropped": 5}
    assert json.loads(await subscription.next_frame())["n"] == 0


async def test_frames_that_waited_too_long_are_dropped_and_the_tab_told() -> None:
    """A tab behind by more than the frame age (its pump starved of the loop) is not shown
    the lab late: the stale frames go, the notice counts them, the fresh one follows."""
    subscription = Subscription(max_age_s=0.05)
    for n in range(3):
        subscription.offer(json.dumps({"type": "trace", "n": n}))
    await asyncio.sleep(0.1)
    subscription.offer(json.dumps({"type": "trace", "n": 3}))
    assert json.loads(await subscription.next_frame()) == {"type": "lagging", "dropped": 3}
    assert json.loads(await subscription.next_frame())["n"] == 3
    assert subscription.queue.empty()


async def test_a_caught_up_tab_is_sent_at_once_and_a_tab_behind_keeps_the_order() -> None:
    """The feed sends straight to a tab with nothing waiting; once frames wait, new ones
    queue behind them until the pump has sent them all, so the page sees them in order."""
    sent: list[str] = []

    async def deliver(frame: str) -> bool:
        sent.append(frame)
        return True

    subscription = Subscription()
    subscription.deliver = deliver
    await subscription.push("a")
    assert sent == ["a"] and subscription.queue.empty()
    subscription.offer("b")  # a frame that had to wait (a replay's end, a burst)
    await subscription.push("c")
    assert sent == ["a"]  # behind "b": queued, not sent past it
    for _ in range(2):  # what the page's pump does
        await deliver(await subscription.next_frame())
        subscription.sent()
    await subscription.push("d")
    assert sent == ["a", "b", "c", "d"] and subscription.queue.empty()


async def test_a_storm_of_heartbeats_makes_one_state_frame_per_gap_not_one_per_beat(
    feed: LabFeed, redis_client: redis.Redis
) -> None:
    """Every process of a lab beats twice a second; each beat wakes the state reader, but a
    tab gets at most one state frame every STATE_GAP_S (a slow machine makes fewer)."""
    subscription = feed.subscribe()
    await _listening(redis_client)
    await _frame(subscription, "state")
    loop = asyncio.get_running_loop()
    began = loop.time()
    for _ in range(40):  # 20 processes' beats for a second, at 25 ms apart
        redis_client.publish(keys.HEARTBEAT_CHANNEL, "node-1")
        await asyncio.sleep(0.025)
    took = loop.time() - began
    states = 0
    while not subscription.queue.empty():
        states += json.loads(await subscription.next_frame())["type"] == "state"
    assert 1 <= states <= took / STATE_GAP_S + 1, (states, took)


async def test_a_tab_gone_before_its_disconnect_arrived_is_let_go_quietly(
    redis_url: str, caplog
) -> None:
    """daphne raises autobahn's Disconnected on a send to a socket the tab has closed, before
    the consumer hears the disconnect: the tab gets no more frames, and nothing is logged as
    an error (300 tabs leaving made 300 tracebacks)."""
    from autobahn.exception import Disconnected

    from archviz.dashboard.consumers import LabConsumer
    from archviz.dashboard.feed import feed  # the process's own, as the consumer's

    async def closed(message: dict) -> None:
        raise Disconnected("Attempt to send on a closed protocol")

    consumer = LabConsumer()
    consumer.base_send, consumer.scope = closed, {}
    consumer.subscription = feed.subscribe()
    open_before = feed.open_sockets
    assert await consumer._deliver('{"type": "trace", "events": []}') is False
    assert feed.open_sockets == open_before - 1
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
