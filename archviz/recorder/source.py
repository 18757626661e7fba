"""Reading a recording back from Redis: its span, its keyframes, trace batches and markers.

A recording is three streams (keys.RecordingKeys): the live one (the lab's own trace log,
keyframes and markers) or an imported one. Times are the stream entries' ids (unix ms), so
a replay keeps the pace at which the lab recorded them.
"""

import json
from collections.abc import Iterator
from typing import NamedTuple

import redis

from archviz.recorder.keys import IMPORTED, LIVE, RecordingKeys, imported
from archviz.trace.reader import parse_batch

PAGE = 200  # stream entries read per round trip


class Entry(NamedTuple):
    ms: int  # its id's time
    id: str  # the stream entry's id
    stream: str  # "trace" | "keyframes" | "markers"
    data: object  # a list of events, a LabState, or a Marker


def entry_ms(entry_id: bytes | str) -> int:
    raw = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    return int(raw.split("-", 1)[0])


def _decode(stream: str, fields: dict) -> object | None:
    if stream == "trace":
        return parse_batch(fields.get(b"batch", b""))[0]
    raw = fields.get(b"state" if stream == "keyframes" else b"marker")
    try:
        return json.loads(raw) if raw is not None else None
    except ValueError:
        return None  # not ours: whoever can write to Redis can write here


class Recording:
    def __init__(self, client: redis.Redis, keys: RecordingKeys = LIVE, name: str = "live") -> None:
        self.client = client
        self.keys = keys
        self.name = name

    def _key(self, stream: str) -> str:
        return getattr(self.keys, stream)

    def span(self) -> tuple[int, int] | None:
        """The first and last recorded ms (trace or keyframe), None when nothing is recorded."""
        pipe = self.client.pipeline(transaction=False)
        for stream in ("trace", "keyframes"):
            pipe.xrange(self._key(stream), count=1)
            pipe.xrevrange(self._key(stream), count=1)
        ends = [entry_ms(found[0][0]) for found in pipe.execute() if found]
        return (min(ends), max(ends)) if ends else None

    def keyframe_at_or_before(self, ms: int) -> Entry | None:
        """The nearest keyframe at or before `ms` (where a seek starts)."""
        for found_id, fields in self.client.xrevrange(self.keys.keyframes, max=ms, count=5):
            state = _decode("keyframes", fields)
            if isinstance(state, dict):
                return Entry(entry_ms(found_id), found_id.decode(), "keyframes", state)
        return None

    def entries(self, stream: str, start: int | str = "-", end: int | str = "+") -> Iterator[Entry]:
        """One stream's valid entries between two times (ms, inclusive), oldest first.
        Markers go by their own time (the event's), not by when they were written."""
        if stream == "markers":
            low = float("-inf") if start == "-" else float(start)
            high = float("inf") if end == "+" else float(end)
            found = self._read("markers", "-", "+")
            yield from (
                e for e in found if isinstance(e.data, dict) and low <= e.data.get("ts", 0) <= high
            )
            return
        yield from self._read(stream, start, end)

    def _read(self, stream: str, start: int | str, end: int | str) -> Iterator[Entry]:
        lower: int | str = start
        while True:
            page = self.client.xrange(self._key(stream), min=lower, max=end, count=PAGE)
            for found_id, fields in page:
                data = _decode(stream, fields)
                if data:
                    yield Entry(entry_ms(found_id), found_id.decode(), stream, data)
            if len(page) < PAGE:
                return
            lower = "(" + page[-1][0].decode()

    def timeline(self, start: int, end: int) -> list[Entry]:
        """The keyframes and trace batches between two times, merged in time order."""
        merged = [*self.entries("keyframes", start, end), *self.entries("trace", start, end)]
        return sorted(merged, key=lambda entry: (entry.ms, entry.stream != "keyframes"))


def recording_named(client: redis.Redis, name: str) -> Recording | None:
    """The live recording ("live") or an imported one by its name; None if there is none."""
    if name == "live":
        return Recording(client)
    if client.sismember(IMPORTED, name):
        return Recording(client, imported(name), name)
    return None
