"""The Chrome Trace Event export follows the format's rules, so Perfetto opens it."""

import itertools
import json
from collections import defaultdict

from django.core.management import call_command

from archviz.recorder import chrome
from archviz.recorder.source import Recording

PHASES = {"X", "M", "s", "t", "f", "i", "C"}


def check_trace_event_format(document: dict) -> None:
    """The rules of the Trace Event Format (its Google doc) that Perfetto's importer keeps."""
    assert set(document) >= {"traceEvents"} and isinstance(document["traceEvents"], list)
    assert document.get("displayTimeUnit") in (None, "ms", "ns")
    slices: dict[tuple, list[tuple[float, float]]] = defaultdict(list)
    flows: dict[int, list[dict]] = defaultdict(list)
    for event in document["traceEvents"]:
        assert event["ph"] in PHASES, event
        assert isinstance(event["pid"], int) and isinstance(event["tid"], int), event
        assert isinstance(event["name"], str) and event["name"], event
        if event["ph"] == "M":
            assert event["name"] in ("process_name", "thread_name") and "name" in event["args"]
            continue
        assert isinstance(event["ts"], int | float) and event["ts"] > 1e15, "ts in µs"
        if event["ph"] == "X":
            assert event["dur"] > 0
            slices[(event["pid"], event["tid"])].append((event["ts"], event["ts"] + event["dur"]))
        elif event["ph"] in "stf":
            assert isinstance(event["id"], int) and event["cat"]
            flows[event["id"]].append(event)
        elif event["ph"] == "i":
            assert event["s"] in ("g", "p", "t")
        elif event["ph"] == "C":
            assert all(isinstance(v, int | float) for v in event["args"].values())
    for lane in slices.values():  # slices on one thread nest or follow; never partly overlap
        lane.sort()
        assert all(a_end <= b_start for (_, a_end), (b_start, _) in itertools.pairwise(lane))
    for steps in flows.values():
        phases = [step["ph"] for step in steps]
        assert phases[0] == "s" and phases[-1] == "f" and set(phases[1:-1]) <= {"t"}, phases
        assert steps[-1]["bp"] == "e"
        assert len({(step["name"], step["cat"]) for step in steps}) == 1
        for step in steps:  # each binds to a slice of its own thread that encloses it
            lane = slices[(step["pid"], step["tid"])]
            assert any(start <= step["ts"] < end for start, end in lane), step


def test_the_export_follows_the_trace_event_format(redis_client, recorded_run) -> None:
    """Slices per process, flows between hops, markers and counters: all by the rules."""
    document = chrome.from_recording(Recording(redis_client))
    check_trace_event_format(document)
    events = document["traceEvents"]
    names = {e["args"]["name"] for e in events if e["ph"] == "M"}
    assert {"traffic", "lb", "node-1", "supervisor"} <= names
    [flow] = [[e for e in events if e["ph"] in "stf"]]
    assert [step["ph"] for step in flow] == ["s", "t", "f"]  # one request, three hops
    assert {e["name"] for e in events if e["ph"] == "i"} == {"node-1: node.down", "node-1: node.up"}
    counts = [e["args"]["up"] for e in events if e["ph"] == "C"]
    assert counts == [1] * 4 + [0] * 2 + [1] * 4


def test_events_at_the_same_moment_do_not_overlap() -> None:
    """Two events of one process in the same µs become two slices one after the other."""
    same = [
        {
            "ts": 1.7e12,
            "src": "lb",
            "dst": "a",
            "kind": "lb.route",
            "trace": "t",
            "demo": "lb",
            "ok": True,
            "ms": None,
            "detail": {},
        },
    ] * 3
    check_trace_event_format(chrome.to_chrome_trace(same, [], []))


def test_the_export_command_writes_chrome_json(redis_client, recorded_run, tmp_path) -> None:
    """manage.py recorder_export --format chrome writes a file Perfetto reads."""
    path = tmp_path / "run.json"
    call_command("recorder_export", str(path), "--format", "chrome")
    check_trace_event_format(json.loads(path.read_text()))
