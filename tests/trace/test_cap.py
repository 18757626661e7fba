"""The trace log and the recorder's streams are capped by size, as Redis counts it."""

import json

import redis

from archviz.trace.cap import SizeCap, trim_to_bytes


def _fill(client: redis.Redis, key: str, entries: int) -> None:
    pipe = client.pipeline(transaction=False)
    for number in range(entries):
        pipe.xadd(key, {"batch": json.dumps([{"n": number, "pad": "x" * 200}])})
    pipe.execute()


def test_a_stream_over_its_cap_is_trimmed_under_it_oldest_first(redis_client) -> None:
    """Over the cap, the oldest entries go until MEMORY USAGE is under it."""
    _fill(redis_client, "s", 3000)
    used = redis_client.memory_usage("s", samples=0)
    cap = used // 3
    trimmed = trim_to_bytes(redis_client, "s", cap)
    assert trimmed > 0
    assert redis_client.memory_usage("s", samples=0) <= cap
    first = json.loads(redis_client.xrange("s", count=1)[0][1][b"batch"])
    assert first[0]["n"] == trimmed  # the oldest went; the newest stayed
    assert json.loads(redis_client.xrevrange("s", count=1)[0][1][b"batch"])[0]["n"] == 2999


def test_a_stream_under_its_cap_is_left_alone(redis_client) -> None:
    """Under the cap nothing is trimmed."""
    _fill(redis_client, "s", 100)
    assert trim_to_bytes(redis_client, "s", 10 * 1024 * 1024) == 0
    assert redis_client.xlen("s") == 100


def test_the_cap_is_checked_at_most_once_a_second(redis_client) -> None:
    """A SizeCap measures once per second of its clock, not on every write."""
    now = [0.0]
    cap = SizeCap("s", 1, clock=lambda: now[0])
    _fill(redis_client, "s", 10)
    assert cap.maybe_trim(redis_client) > 0
    _fill(redis_client, "s", 10)
    now[0] = 0.5
    assert cap.maybe_trim(redis_client) == 0
    now[0] = 1.5
    assert cap.maybe_trim(redis_client) > 0
