"""Reading trace events back: published batches and the replay stream."""

import json

import redis

from archviz.core import keys
from archviz.core.redis_conn import sync_client
from archviz.trace.emitter import Emitter
from archviz.trace.events import make_event
from archviz.trace.reader import parse_batch, recent_events


def test_valid_batch_parses_to_its_events():
    """A JSON array of valid events parses fully, with no invalid count."""
    events = [make_event("pubsub.publish", "node-1", "redis") for _ in range(3)]
    assert parse_batch(json.dumps(events)) == (events, 0)
    assert parse_batch(json.dumps(events).encode()) == (events, 0)


def test_invalid_json_counts_as_one_invalid():
    """A batch that is not JSON yields no events and one invalid."""
    assert parse_batch("[{not json") == ([], 1)


def test_non_list_counts_as_one_invalid():
    """A JSON object or number instead of an array yields one invalid."""
    event = make_event("pubsub.publish", "node-1", "redis")
    assert parse_batch(json.dumps(event)) == ([], 1)
    assert parse_batch("42") == ([], 1)


def test_mixed_batch_keeps_valid_events_and_counts_the_rest():
    """Invalid items are skipped and counted; valid ones keep their order."""
    first = make_event("http.request", "client", "node-1")
    second = make_event("http.response", "node-1", "client")
    raw = json.dumps([first, {"v": 1}, "junk", first | {"kind": "nope"}, second])
    assert parse_batch(raw) == ([first, second], 3)


def test_recent_events_replays_the_newest_oldest_first(redis_url: str, redis_client: redis.Redis):
    """Events written by an emitter come back from the log oldest first, newest `count`."""
    emitter = Emitter("test-reader", client_factory=lambda: sync_client(redis_url))
    sent = [emitter.emit("node.heartbeat_lost", "node-1", detail={"n": i}) for i in range(8)]
    assert emitter.flush() is True
    assert recent_events(redis_client, count=50) == sent
    assert recent_events(redis_client, count=3) == sent[-3:]


def test_recent_events_skips_malformed_log_entries(redis_url: str, redis_client: redis.Redis):
    """Entries without a valid event are left out of the replay."""
    good = make_event("node.up", "node-1", "redis")
    redis_client.xadd(keys.TRACE_LOG, {"batch": "{broken"})
    redis_client.xadd(keys.TRACE_LOG, {"other": "x"})
    redis_client.xadd(keys.TRACE_LOG, {"batch": json.dumps([good, {"v": 1, "kind": "node.up"}])})
    assert recent_events(redis_client) == [good]


def test_recent_events_of_an_empty_log_is_empty(redis_client: redis.Redis):
    """No stream yet: no events."""
    assert recent_events(redis_client) == []
