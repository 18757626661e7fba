"""A recorded run in the test Redis: trace batches, keyframes and markers, a second apart."""

import json

import pytest
import redis

from archviz.recorder import markers
from archviz.recorder.fileformat import store
from archviz.recorder.keys import KEYFRAMES
from archviz.recorder.source import Recording
from archviz.trace.events import TRACE_LOG, make_event
from tests.dashboard.conftest import connect, instructor_session  # noqa: F401 (fixtures)

START_MS = 1_700_000_000_000
RUN = "run1"


def node_state(ts: float, status: str) -> dict:
    """A keyframe's state with one node in `status` (the fields the pages read)."""
    return {
        "ts": ts,
        "nodes": [{"id": "node-1", "status": status}],
        "processes": [],
        "redis": {"up": True},
        "set_by": {},
    }


def hop(kind: str, src: str, dst: str, trace: str, ts: float) -> dict:
    event = make_event(kind, src, dst, trace=trace, ms=1.5)
    event["ts"] = ts
    return event


@pytest.fixture
def recorded_run(redis_client: redis.Redis) -> dict:
    """Ten seconds: node-1 up, killed at +4 s, up again at +6 s; a request of three hops.
    Written as the live recording and as the imported recording RUN (which no process of
    the test writes to, unlike the live trace log)."""
    redis_client.delete(TRACE_LOG, KEYFRAMES, markers.MARKERS)
    statuses = ["up"] * 4 + ["down"] * 2 + ["up"] * 4
    for second, status in enumerate(statuses):
        ts = START_MS + second * 1000
        redis_client.xadd(KEYFRAMES, {"state": json.dumps(node_state(ts, status))}, id=f"{ts}-0")
    trace = [
        hop("http.request", "traffic", "lb", "t1", START_MS + 1500),
        hop("lb.route", "lb", "node-1", "t1", START_MS + 1501),
        hop("http.response", "node-1", "traffic", "t1", START_MS + 1503),
    ]
    redis_client.xadd(TRACE_LOG, {"batch": json.dumps(trace)}, id=f"{START_MS + 1510}-0")
    down = hop("node.down", "supervisor", "node-1", "t2", START_MS + 4000)
    up = hop("node.up", "node-1", "redis", "t3", START_MS + 6000)
    for event in (down, up):
        redis_client.xadd(TRACE_LOG, {"batch": json.dumps([event])}, id=f"{int(event['ts'])}-1")
        markers.add(redis_client, markers.from_event(event))
    live = Recording(redis_client)
    entries = [e for stream in ("trace", "keyframes", "markers") for e in live.entries(stream)]
    store(redis_client, RUN, entries)
    return {"start": START_MS, "end": START_MS + 9000, "trace": trace}
