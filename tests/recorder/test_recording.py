"""The recorder keeps a keyframe of the whole picture and the markers."""

import json

from archviz.core import set_by
from archviz.recorder import markers
from archviz.recorder.keys import KEYFRAMES, MARKERS
from archviz.recorder.recording import Recorder
from archviz.trace.events import make_event


def _markers(client) -> list[dict]:
    return [json.loads(fields[b"marker"]) for _id, fields in client.xrange(MARKERS)]


def test_a_keyframe_is_the_dashboards_state_read_from_redis(redis_client) -> None:
    """One keyframe holds the state the pages draw (read_lab_state's), with its ts."""
    Recorder(redis_client).keyframe()
    [(entry_id, fields)] = redis_client.xrange(KEYFRAMES)
    state = json.loads(fields[b"state"])
    assert {"nodes", "processes", "redis", "set_by", "ts"} <= set(state)
    assert abs(int(entry_id.split(b"-")[0]) - state["ts"]) < 5_000


def test_an_instructor_action_between_keyframes_is_a_marker(redis_client) -> None:
    """Who set what (core/set_by.py) between two keyframes becomes an instructor marker."""
    recorder = Recorder(redis_client)
    recorder.keyframe()
    set_by.record(redis_client, "traffic", "ingrid", "/lb/")
    recorder.keyframe()
    [found] = _markers(redis_client)
    assert found["kind"] == "instructor"
    assert found["label"] == "ingrid set traffic on /lb/"


def test_faults_and_node_life_cycle_events_are_markers(redis_client) -> None:
    """fault.* and node.down/up events in the trace are markers; other hops are not."""
    recorder = Recorder(redis_client)
    batch = [
        make_event(
            "fault.inject",
            "dashboard",
            "supervisor",
            detail={"action": "node.kill", "by": "ingrid"},
        ),
        make_event("node.down", "supervisor", "node-2"),
        make_event("http.request", "traffic", "lb"),
    ]
    recorder.on_batch(json.dumps(batch).encode())
    kinds = [(m["kind"], m["label"]) for m in _markers(redis_client)]
    assert kinds == [("fault", "node.kill supervisor by ingrid"), ("node", "node-2: node.down")]


def test_a_lesson_step_is_a_marker(redis_client) -> None:
    """A lesson's step start is written as a lesson marker."""
    markers.lesson_step(redis_client, "Kill a node", "2", "ingrid", 1000.0)
    [found] = _markers(redis_client)
    assert found == {
        "ts": 1000.0,
        "kind": "lesson",
        "label": "Kill a node: step 2 by ingrid",
        "process": "",
    }
