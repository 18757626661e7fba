"""The emitter's buffer, without I/O: bounded, batched, and honest about drops."""

from collections import deque

from archviz.trace.events import TraceEvent


class Batcher:
    """Holds events until they are published; counts what it had to drop when full."""

    def __init__(self, *, batch_size: int = 200, max_buffered: int = 10_000) -> None:
        self.batch_size = batch_size
        self.max_buffered = max_buffered
        self._events: deque[TraceEvent] = deque()
        self.accepted = 0
        self.dropped = 0

    def add(self, event: TraceEvent) -> bool:
        """Buffer an event; False (and counted) when the buffer is full."""
        if len(self._events) >= self.max_buffered:
            self.dropped += 1
            return False
        self._events.append(event)
        self.accepted += 1
        return True

    def batch_ready(self) -> bool:
        """A full batch is waiting: publish now rather than at the next tick."""
        return len(self._events) >= self.batch_size

    def take(self) -> list[TraceEvent]:
        """Up to one batch of the oldest events, removed from the buffer."""
        count = min(self.batch_size, len(self._events))
        return [self._events.popleft() for _ in range(count)]

    def put_back(self, batch: list[TraceEvent]) -> None:
        """Return an unpublished batch to the front, dropping (and counting) overflow."""
        room = self.max_buffered - len(self._events)
        keep = batch[:room] if room > 0 else []
        self.dropped += len(batch) - len(keep)
        self._events.extendleft(reversed(keep))

    def __len__(self) -> int:
        return len(self._events)
