"""What a page that opens is sent from the replay log: the newest events, capped in bytes."""

import json

import redis

from archviz.core import keys
from archviz.trace.events import make_event
from archviz.trace.reader import RECENT_MAX_BATCHES, RECENT_MAX_BYTES, recent_events


def _log(client: redis.Redis, batch: list) -> None:
    client.xadd(keys.TRACE_LOG, {"batch": json.dumps(batch)})


def test_replay_is_capped_in_bytes_keeping_the_newest(redis_client: redis.Redis):
    """Big events (written by anyone with Redis) are sent only up to the cap, newest kept."""
    # 40 KiB each: more than any made event, as a process that bypasses make_event could log
    big = [make_event("node.up", "node-1", "redis") for _ in range(40)]
    for i, event in enumerate(big):
        event["detail"] = {"n": i, "blob": "x" * 40_960}
    for start in range(0, 40, 4):
        _log(redis_client, big[start : start + 4])
    replay = recent_events(redis_client)
    assert len(json.dumps(replay)) <= RECENT_MAX_BYTES
    assert [e["detail"]["n"] for e in replay] == list(range(40 - len(replay), 40))
    assert len(json.dumps(big[-len(replay) - 1 :])) > RECENT_MAX_BYTES  # no room for one more


def test_replay_with_a_smaller_cap_stops_before_the_event_that_would_pass_it(
    redis_client: redis.Redis,
):
    """The cap is on the JSON of the events sent: none beyond it, and no gap in the newest."""
    events = [make_event("node.up", "node-1", "redis", detail={"n": i}) for i in range(10)]
    _log(redis_client, events)
    # events differ in size (a time stamp's digits): measure the newest three themselves
    newest_three = sum(len(json.dumps(event)) + 2 for event in events[-3:])
    assert recent_events(redis_client, max_bytes=newest_three) == events[-3:]
    assert recent_events(redis_client, max_bytes=newest_three - 1) == events[-2:]
    assert recent_events(redis_client, max_bytes=len(json.dumps(events[-1]))) == []


def test_replay_reads_no_more_than_its_batches(redis_client: redis.Redis):
    """Only the newest RECENT_MAX_BATCHES log entries are read, page by page, in order."""
    for i in range(RECENT_MAX_BATCHES + 30):
        _log(redis_client, [make_event("node.up", "node-1", "redis", detail={"n": i})])
    replay = recent_events(redis_client, count=1_000)
    assert [e["detail"]["n"] for e in replay] == list(range(30, RECENT_MAX_BATCHES + 30))
