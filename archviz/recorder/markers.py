"""Markers on a recording's timeline: faults, nodes going down and up, lesson steps and
instructor actions. Pure helpers that make them, and one writer."""

import json
from typing import Literal, TypedDict

import redis

from archviz.recorder.keys import MARKERS

MarkerKind = Literal["fault", "node", "lesson", "instructor"]
MARKER_KINDS = ("fault", "node", "lesson", "instructor")
NODE_KINDS = frozenset({"node.down", "node.up", "node.failed", "node.heartbeat_lost"})
MAX_LABEL_CHARS = 120
MARKERS_KEPT = 20_000  # markers are small and rare: a count cap is a size cap here


class Marker(TypedDict):
    ts: float  # unix ms
    kind: MarkerKind
    label: str  # in words
    process: str  # the lane it belongs to ("" when none)


def marker(ts: float, kind: MarkerKind, label: str, process: str = "") -> Marker:
    return Marker(ts=ts, kind=kind, label=label[:MAX_LABEL_CHARS], process=process[:64])


def from_event(event: dict) -> Marker | None:
    """The marker a trace event makes, if it is a fault or a node's life-cycle event."""
    kind = event["kind"]
    if kind.startswith("fault."):
        action = event["detail"].get("action", kind)
        by = event["detail"].get("by", "")
        return marker(
            event["ts"], "fault", f"{action} {event['dst']} by {by}".strip(), event["dst"]
        )
    if kind in NODE_KINDS:
        node = event["src"] if kind == "node.up" else event["dst"]  # node.up: node -> redis
        return marker(event["ts"], "node", f"{node}: {kind}", node)
    return None


def from_set_by(before: dict[str, dict], after: dict[str, dict]) -> list[Marker]:
    """Instructor actions between two keyframes: the shared state whose setter changed."""
    found = []
    for what, entry in after.items():
        if before.get(what, {}).get("ts") != entry.get("ts") and entry.get("ts"):
            where = f" on {entry['page']}" if entry.get("page") else ""
            label = f"{entry.get('by') or 'someone'} set {what}{where}"
            found.append(marker(float(entry["ts"]), "instructor", label))
    return found


def add(client: redis.Redis, found: Marker) -> None:
    client.xadd(MARKERS, {"marker": json.dumps(found)}, maxlen=MARKERS_KEPT, approximate=True)


def lesson_step(client: redis.Redis, lesson: str, step: str, by: str, ts: float) -> None:
    """A lesson's step started (or its "try" button was pressed), by whom."""
    add(client, marker(ts, "lesson", f"{lesson}: step {step} by {by}"))
