"""The queue's view on the lab page (queue/state.py): each consumer's row (pure), and the
numbers read back from a real Redis."""

import redis

from archviz.core.registry import Metrics, Registration
from archviz.queue import keys as queue_keys
from archviz.queue.state import consumer_views, read_queue


def _registration(cid: str, pid: int = 700) -> Registration:
    return Registration(cid, "consumer", pid, "127.0.0.1", 0, 1.0)


def test_consumers_are_listed_in_natural_order_with_their_numbers() -> None:
    records = {c: {"kind": "consumer", "status": "up", "pid": 1} for c in ("c-10", "c-2")}
    metrics = {"c-2": Metrics(id="c-2", ts=1, extra={"jobs_per_s": 4.5, "busy": True})}
    views = consumer_views(records, [], metrics, {"c-2": 3}, {"processed:c-2": 9})
    assert [v["id"] for v in views] == ["c-2", "c-10"]
    assert views[0]["pending"] == 3 and views[0]["processed_total"] == 9
    assert views[0]["jobs_per_s"] == 4.5 and views[0]["busy"] is True
    assert views[1]["busy"] is False and views[1]["redis_ok"] is True


def test_a_starting_consumer_that_registered_is_up_and_an_unknown_one_is_listed() -> None:
    """The supervisor's "starting" gives way once the same pid registers; a registration
    the supervisor has no record of still shows (up)."""
    records = {"c-1": {"kind": "consumer", "status": "starting", "pid": 700}}
    views = consumer_views(records, [_registration("c-1"), _registration("c-9", 9)], {}, {}, {})
    assert [(v["id"], v["status"], v["pid"]) for v in views] == [
        ("c-1", "up", 700),
        ("c-9", "up", 9),
    ]


def test_a_busy_flag_of_a_consumer_that_is_not_up_is_not_shown() -> None:
    records = {"c-1": {"kind": "consumer", "status": "down", "spec": {"work_ms": 80}}}
    metrics = {"c-1": Metrics(id="c-1", ts=1, extra={"busy": True})}
    [view] = consumer_views(records, [], metrics, {}, {})
    assert view["busy"] is False and view["work_ms"] == 80


def test_an_empty_queue_reads_as_zeros(redis_client: redis.Redis) -> None:
    view = read_queue(redis_client, {}, [], {})
    assert view["stream_length"] == view["backlog"] == view["pending"] == 0
    assert view["consumers"] == [] and view["dead_recent"] == []


def test_the_stream_stats_and_dead_letters_are_read_back(redis_client: redis.Redis) -> None:
    for n in range(3):
        redis_client.xadd(queue_keys.STREAM, {"job": f"j{n}"})
    redis_client.hset(queue_keys.STATS, mapping={"enqueued": 5, "acked": 1, "dead": 1})
    redis_client.hset(queue_keys.STATS, "refused", 2)
    redis_client.xadd(queue_keys.DEAD, {"reason": "x" * 400, "consumer": "c-1"})
    view = read_queue(redis_client, {}, [], {})
    assert view["stream_length"] == 3
    assert view["enqueued_total"] == 5 and view["acked_total"] == 1
    assert view["dead_total"] == 1 and view["refused_total"] == 2
    [dead] = view["dead_recent"]
    assert dead["consumer"] == "c-1" and len(dead["reason"]) == 300  # cut for the page
