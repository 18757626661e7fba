"""What the timeline under every page draws: activity per process in buckets, and the
markers, for a range of a recording (pure but for `summarise`'s reads)."""

from collections import defaultdict

from archviz.recorder.source import Recording

BUCKETS = 120
MAX_BATCHES = 20_000  # trace batches read for one timeline at most: past this it samples
DEFAULT_WINDOW_MS = 10 * 60 * 1000  # with no range asked for: the last ten minutes


def buckets_of(
    batches: list[tuple[int, list[dict]]], start: int, end: int, count: int = BUCKETS
) -> dict[str, list[int]]:
    """process -> events per bucket, the range cut into `count` equal buckets (pure)."""
    width = max(1, (end - start) / count)
    lanes: dict[str, list[int]] = defaultdict(lambda: [0] * count)
    for ms, events in batches:
        index = min(count - 1, max(0, int((ms - start) / width)))
        for event in events:
            lanes[event["src"]][index] += 1
    return dict(sorted(lanes.items()))


def summarise(recording: Recording, start: int | None, end: int | None) -> dict:
    """The timeline of `recording` between two times (default: its last ten minutes)."""
    span = recording.span()
    if span is None:
        return {
            "recording": recording.name,
            "span": None,
            "start": None,
            "end": None,
            "bucket_ms": 0,
            "lanes": {},
            "markers": [],
            "sampled": False,
        }
    end = min(span[1], end) if end is not None else span[1]
    start = max(span[0], start) if start is not None else max(span[0], end - DEFAULT_WINDOW_MS)
    end = max(end, start + 1)
    batches = []
    for entry in recording.entries("trace", start, end):
        batches.append((entry.ms, entry.data))
        if len(batches) >= MAX_BATCHES:
            break
    sampled = len(batches) >= MAX_BATCHES
    markers = [entry.data for entry in recording.entries("markers", start, end)]
    return {
        "recording": recording.name,
        "span": list(span),
        "start": start,
        "end": end,
        "bucket_ms": (end - start) / BUCKETS,
        "lanes": buckets_of(batches, start, end),
        "markers": markers[-500:],
        "sampled": sampled,  # the lanes count the first MAX_BATCHES batches only
    }
