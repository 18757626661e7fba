"""Reading trace events back: parsing published batches and replaying the log."""

import json

import redis

from archviz.trace.events import TRACE_LOG, InvalidEvent, TraceEvent, validate_event

RECENT_EVENTS = 50  # the newest events a page that opens is sent
# ... and at most this much of them, as JSON: they go in the welcome frame, and the lab
# socket's frames are capped at 64 KiB both ways (autobahn refuses a bigger one whole)
RECENT_MAX_BYTES = 48 * 1024
RECENT_MAX_BATCHES = 50  # log entries read for them at most
_PAGE = 10  # log entries read per round trip: most replays need one


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


def recent_events(
    client: redis.Redis, count: int = RECENT_EVENTS, max_bytes: int = RECENT_MAX_BYTES
) -> list[TraceEvent]:
    """The newest valid events of the replay stream, oldest first: at most `count`, and at
    most `max_bytes` of JSON (the newest are kept, with no gap: an event that would pass
    the cap ends the replay).

    Invalid entries are skipped without a count: the log holds the batches that were
    published live, where each dashboard's feed counted them (and its pages show it)."""
    newest_first: list[TraceEvent] = []
    size = 0
    for batch in _batches_newest_first(client, RECENT_MAX_BATCHES):
        for event in reversed(parse_batch(batch)[0]):
            size += len(json.dumps(event)) + 2  # and the ", " between events
            if size > max_bytes or len(newest_first) >= count:
                return newest_first[::-1]
            newest_first.append(event)
    return newest_first[::-1]


def _batches_newest_first(client: redis.Redis, limit: int):
    """The logged batches, newest first, read a page at a time (a replay rarely needs many)."""
    upper, read = "+", 0
    while read < limit:
        entries = client.xrevrange(TRACE_LOG, max=upper, count=min(_PAGE, limit - read))
        for _entry_id, fields in entries:
            yield fields.get(b"batch", b"")
        if len(entries) < _PAGE:
            return
        read += len(entries)
        upper = "(" + entries[-1][0].decode()
