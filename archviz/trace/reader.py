"""Reading trace events back: parsing published batches and replaying the log."""

import json

import redis

from archviz.trace.events import TRACE_LOG, InvalidEvent, TraceEvent, validate_event


def parse_batch(raw: bytes | str) -> tuple[list[TraceEvent], int]:
    """The valid events of one published (or logged) batch, and how many were invalid."""
    try:
        items = json.loads(raw)
    except ValueError:
        return [], 1
    if not isinstance(items, list):
        return [], 1
    events: list[TraceEvent] = []
    for item in items:
        try:
            events.append(validate_event(item))
        except InvalidEvent:
            continue
    return events, len(items) - len(events)


def recent_events(client: redis.Redis, count: int = 50) -> list[TraceEvent]:
    """The newest `count` valid events of the replay stream, oldest first.

    Invalid entries are skipped without a count: the log holds the batches that were
    published live, where each dashboard's feed counted them (and its pages show it)."""
    entries = client.xrevrange(TRACE_LOG, count=count)
    events: list[TraceEvent] = []
    for _entry_id, fields in reversed(entries):
        events += parse_batch(fields.get(b"batch", b""))[0]
    return events[-count:]
