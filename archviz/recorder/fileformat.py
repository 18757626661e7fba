"""A recording as a file: gzipped JSON lines, a versioned header first.

    {"format": "archviz-recording", "version": 1, "from": <ms>, "to": <ms>, ...}
    {"stream": "trace", "id": "<ms>-<seq>", "events": [<trace event>, ...]}
    {"stream": "keyframes", "id": "<ms>-<seq>", "state": {<LabState>}}
    {"stream": "markers", "id": "<ms>-<seq>", "marker": {<Marker>}}

An import reads the whole file, checked line by line within the caps below, before it writes
anything: a truncated, oversized, garbled file or one of another version is refused with a
RecordingError that says what and where, and nothing is stored.
"""

import gzip
import io
import json
import re
import time
import zlib
from collections.abc import Iterable, Iterator
from typing import IO

import redis

from archviz.recorder.keys import IMPORTED, imported
from archviz.recorder.markers import MARKER_KINDS
from archviz.recorder.source import Entry, Recording, entry_ms
from archviz.trace.events import InvalidEvent, validate_event

FORMAT = "archviz-recording"
VERSION = 1
MAX_FILE_BYTES = 32 * 1024 * 1024  # a .jsonl.gz as uploaded or read
MAX_UNPACKED_BYTES = 256 * 1024 * 1024  # its lines, once unpacked
MAX_LINE_BYTES = 4 * 1024 * 1024  # one line (a keyframe is tens of KiB)
NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
ENTRY_ID = re.compile(r"\d{1,15}-\d{1,10}")
PAYLOAD = {"trace": "events", "keyframes": "state", "markers": "marker"}


class RecordingError(ValueError):
    """A recording file that cannot be imported; the message says why, and where."""


def header(recording: Recording, start: int, end: int) -> dict:
    return {
        "format": FORMAT,
        "version": VERSION,
        "from": start,
        "to": end,
        "source": recording.name,
        "exported_at": round(time.time() * 1000),
    }


def lines(recording: Recording, start: int, end: int) -> Iterator[str]:
    """The file's lines (without newlines), header first, each stream in order."""
    yield json.dumps(header(recording, start, end))
    for stream, field in PAYLOAD.items():
        for entry in recording.entries(stream, start, end):
            yield json.dumps({"stream": stream, "id": entry.id, field: entry.data})


def write(
    recording: Recording, out: IO[bytes], start: int | str = "-", end: int | str = "+"
) -> None:
    """Write the recording between two times (ms) to `out`, gzipped."""
    span = recording.span()
    if span is None:
        raise RecordingError("nothing is recorded yet")
    first = span[0] if start == "-" else int(start)
    last = span[1] if end == "+" else int(end)
    with gzip.GzipFile(fileobj=out, mode="wb") as packed:
        for line in lines(recording, first, last):
            packed.write(line.encode() + b"\n")


def read(raw: bytes) -> tuple[dict, list[Entry]]:
    """The header and entries of a file's bytes; RecordingError if it is not a good one."""
    if len(raw) > MAX_FILE_BYTES:
        raise RecordingError(f"the file is {len(raw)} bytes: at most {MAX_FILE_BYTES} are read")
    try:
        text = _unpacked(raw)
    except (EOFError, OSError, zlib.error) as exc:
        raise RecordingError(f"not a whole .jsonl.gz file (truncated or not gzip): {exc}") from None
    found = text.split(b"\n")
    if found and found[-1] == b"":
        found.pop()
    if not found:
        raise RecordingError("the file is empty: no header line")
    head = _header(found[0])
    return head, list(_entries(found[1:]))


def _unpacked(raw: bytes) -> bytes:
    with gzip.GzipFile(fileobj=io.BytesIO(raw)) as packed:
        text = packed.read(MAX_UNPACKED_BYTES + 1)
    if len(text) > MAX_UNPACKED_BYTES:
        raise RecordingError(f"the file unpacks to over {MAX_UNPACKED_BYTES} bytes: refused")
    return text


def _json_object(line: bytes, number: int) -> dict:
    if len(line) > MAX_LINE_BYTES:
        raise RecordingError(f"line {number}: over {MAX_LINE_BYTES} bytes")
    try:
        found = json.loads(line)
    except ValueError:
        raise RecordingError(f"line {number}: not JSON") from None
    if not isinstance(found, dict):
        raise RecordingError(f"line {number}: not a JSON object")
    return found


def _header(line: bytes) -> dict:
    head = _json_object(line, 1)
    if head.get("format") != FORMAT:
        raise RecordingError(f"line 1: not an archviz recording (format {head.get('format')!r})")
    if head.get("version") != VERSION:
        found = head.get("version")
        raise RecordingError(f"this recording is version {found!r}: this archviz reads {VERSION}")
    return head


def _entries(found: Iterable[bytes]) -> Iterator[Entry]:
    last: dict[str, tuple[int, int]] = {}
    for number, line in enumerate(found, start=2):
        item = _json_object(line, number)
        stream, entry_id = item.get("stream"), item.get("id")
        if stream not in PAYLOAD:
            raise RecordingError(f"line {number}: unknown stream {stream!r}")
        if not isinstance(entry_id, str) or not ENTRY_ID.fullmatch(entry_id):
            raise RecordingError(f"line {number}: bad entry id {entry_id!r}")
        order = tuple(int(part) for part in entry_id.split("-"))
        if order <= last.get(stream, (-1, -1)):
            raise RecordingError(f"line {number}: {stream} entry {entry_id} is out of order")
        last[stream] = order
        yield Entry(entry_ms(entry_id), entry_id, stream, _payload(stream, item, number))


def _payload(stream: str, item: dict, number: int) -> object:
    data = item.get(PAYLOAD[stream])
    if stream == "trace":
        if not isinstance(data, list):
            raise RecordingError(f"line {number}: a trace entry's events must be a list")
        try:
            return [validate_event(event) for event in data]
        except InvalidEvent as exc:
            raise RecordingError(f"line {number}: {exc}") from None
    if not isinstance(data, dict):
        raise RecordingError(
            f"line {number}: a {stream} entry's {PAYLOAD[stream]} must be an object"
        )
    if stream == "markers" and (data.get("kind") not in MARKER_KINDS or "ts" not in data):
        raise RecordingError(f"line {number}: a marker needs a ts and a kind of {MARKER_KINDS}")
    if stream == "keyframes" and not isinstance(data.get("nodes"), list):
        raise RecordingError(f"line {number}: a keyframe's state has no nodes")
    return data


def store(client: redis.Redis, name: str, entries: list[Entry]) -> Recording:
    """Store checked entries as the imported recording `name` (replacing one of that name)."""
    if not NAME.fullmatch(name):
        raise RecordingError("a recording's name: 1-40 lower-case letters, digits, - or _")
    keys = imported(name)
    pipe = client.pipeline(transaction=True)
    pipe.delete(*keys)
    for entry in entries:
        field = {"trace": "batch", "keyframes": "state", "markers": "marker"}[entry.stream]
        pipe.xadd(getattr(keys, entry.stream), {field: json.dumps(entry.data)}, id=entry.id)
    pipe.sadd(IMPORTED, name)
    pipe.execute()
    return Recording(client, keys, name)


def import_file(client: redis.Redis, raw: bytes, name: str) -> tuple[Recording, int]:
    """Check the whole file, then store it as `name`; the recording and its entry count."""
    if not NAME.fullmatch(name):
        raise RecordingError("a recording's name: 1-40 lower-case letters, digits, - or _")
    _head, entries = read(raw)
    return store(client, name, entries), len(entries)
