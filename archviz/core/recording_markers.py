"""Markers on the flight recorder's timeline (archviz/recorder/), written by whoever sees
the moment: the recorder itself (faults, nodes, instructor actions) and the lessons (a
step started). Here in core because both write them and no demo imports another."""

import json
from typing import Literal, TypedDict

import redis

MARKERS = "archviz:recorder:markers"  # stream: {"marker": JSON Marker}
MarkerKind = Literal["fault", "node", "lesson", "instructor"]
MARKER_KINDS = ("fault", "node", "lesson", "instructor")
MAX_LABEL_CHARS = 120
MARKERS_KEPT = 20_000  # markers are small and rare: a count cap is a size cap here


class Marker(TypedDict):
    ts: float  # unix ms
    kind: MarkerKind
    label: str  # in words
    process: str  # the lane it belongs to ("" when none)


def marker(ts: float, kind: MarkerKind, label: str, process: str = "") -> Marker:
    return Marker(ts=ts, kind=kind, label=label[:MAX_LABEL_CHARS], process=process[:64])


def add(client: redis.Redis, found: Marker) -> None:
    client.xadd(MARKERS, {"marker": json.dumps(found)}, maxlen=MARKERS_KEPT, approximate=True)


def lesson_step(client: redis.Redis, lesson: str, step: str, by: str, ts: float) -> None:
    """A lesson's step started (or its "try" button was pressed), by whom."""
    add(client, marker(ts, "lesson", f"{lesson}: step {step} by {by}"))
