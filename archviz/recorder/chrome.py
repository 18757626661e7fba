"""A recording as Chrome Trace Event JSON, which Perfetto (ui.perfetto.dev) and
chrome://tracing open: a process per lab component, a slice per trace event, flow arrows
between the hops of one trace id, instant events for the markers, a counter of nodes up.

The format's rules kept here: `ts` and `dur` in microseconds; every event has `pid` and
`tid`; slices ("X") on one thread never partly overlap (Perfetto drops those), so a slice
starts no earlier than the previous one on its thread ends; each flow is one `id`, "s" on
its first hop, "t" on the middle ones and "f" with `"bp": "e"` on the last, each at the
start of a slice of its own thread, so it binds to that slice.
"""

from collections import defaultdict
from collections.abc import Iterable

SLICE_US = 1.0  # a trace event is a moment: drawn 1 µs long (its own `ms` goes in args)
LAB_PID = 0  # the lab as a whole: markers and the counters


def to_chrome_trace(
    events: Iterable[dict], markers: Iterable[dict], states: Iterable[dict]
) -> dict:
    events = sorted(events, key=lambda event: event["ts"])
    pids = {name: number for number, name in enumerate(sorted({e["src"] for e in events}), 1)}
    out: list[dict] = [_name("process_name", LAB_PID, "lab (markers, counters)")]
    out += [_name("process_name", pid, name) for name, pid in pids.items()]
    slices = _slices(events, pids)
    out += slices
    out += _flows(events, slices)
    out += [_instant(marker) for marker in markers]
    out += [_counter(state) for state in states]
    return {
        "traceEvents": out,
        "displayTimeUnit": "ms",
        "otherData": {"exported_by": "archviz", "events": len(events)},
    }


def _name(kind: str, pid: int, name: str) -> dict:
    return {"ph": "M", "name": kind, "pid": pid, "tid": 0, "args": {"name": name}}


def _slices(events: list[dict], pids: dict[str, int]) -> list[dict]:
    ends: dict[tuple[int, int], float] = defaultdict(float)
    slices = []
    for event in events:
        pid = pids[event["src"]]
        ts = max(event["ts"] * 1000.0, ends[(pid, 0)])
        ends[(pid, 0)] = ts + SLICE_US
        args = {
            "dst": event["dst"],
            "trace": event["trace"],
            "ok": event["ok"],
            "ms": event["ms"],
            "detail": event["detail"],
        }
        slices.append(
            {
                "name": event["kind"],
                "cat": event["demo"],
                "ph": "X",
                "ts": ts,
                "dur": SLICE_US,
                "pid": pid,
                "tid": 0,
                "args": args,
            }
        )
    return slices


def _flows(events: list[dict], slices: list[dict]) -> list[dict]:
    """Arrows between the hops of each trace id with more than one event."""
    hops: dict[str, list[dict]] = defaultdict(list)
    for event, drawn in zip(events, slices, strict=True):
        hops[event["trace"]].append(drawn)
    flows = []
    for number, drawn in enumerate((h for h in hops.values() if len(h) > 1), start=1):
        for index, hop in enumerate(drawn):
            phase = "s" if index == 0 else "f" if index == len(drawn) - 1 else "t"
            flow = {
                "name": "trace",
                "cat": "flow",
                "ph": phase,
                "id": number,
                "ts": hop["ts"],
                "pid": hop["pid"],
                "tid": hop["tid"],
            }
            if phase == "f":
                flow["bp"] = "e"
            flows.append(flow)
    return flows


def _instant(marker: dict) -> dict:
    return {
        "name": marker["label"],
        "cat": f"marker.{marker['kind']}",
        "ph": "i",
        "s": "g",
        "ts": marker["ts"] * 1000.0,
        "pid": LAB_PID,
        "tid": 0,
    }


def _counter(state: dict) -> dict:
    up = sum(1 for node in state.get("nodes", []) if node.get("status") == "up")
    return {
        "name": "nodes up",
        "ph": "C",
        "ts": state["ts"] * 1000.0,
        "pid": LAB_PID,
        "tid": 0,
        "args": {"up": up},
    }


def from_recording(recording, start: int | str = "-", end: int | str = "+") -> dict:
    """A recording (archviz/recorder/source.py) between two times, as Chrome Trace JSON."""
    events = [e for entry in recording.entries("trace", start, end) for e in entry.data]
    markers = [entry.data for entry in recording.entries("markers", start, end)]
    states = [entry.data for entry in recording.entries("keyframes", start, end)]
    return to_chrome_trace(events, markers, states)
