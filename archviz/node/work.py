"""How a node takes on work: at most `capacity` at once, a bounded queue, then refusals."""

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

QUEUE_PER_CAPACITY = 2  # a node queues up to twice its capacity before refusing


class QueueFull(Exception):
    """The node is at capacity and its queue is full: the request is refused (503)."""


class WorkGate:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.in_flight = 0
        self.served_total = 0
        self.rejected_total = 0
        self._waiting: deque[asyncio.Future] = deque()

    @property
    def queued(self) -> int:
        return len(self._waiting)

    @property
    def queue_limit(self) -> int:
        return self.capacity * QUEUE_PER_CAPACITY

    def set_capacity(self, capacity: int) -> None:
        """Change capacity live; waiting requests start at once if there is room now."""
        self.capacity = max(1, capacity)
        self._admit_waiting()

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[bool]:
        """Hold a working slot; yields True if the request had to wait in the queue."""
        waited = False
        if self.in_flight >= self.capacity:
            if self.queued >= self.queue_limit:
                self.rejected_total += 1
                raise QueueFull(f"{self.in_flight} working, {self.queued} queued (limit)")
            waited = True
            await self._wait_for_turn()
        else:
            self.in_flight += 1
        try:
            yield waited
        finally:
            self.in_flight -= 1
            self.served_total += 1
            self._admit_waiting()

    async def _wait_for_turn(self) -> None:
        turn = asyncio.get_running_loop().create_future()
        self._waiting.append(turn)
        try:
            await turn  # _admit_waiting counted us in before resolving
        except asyncio.CancelledError:
            if turn in self._waiting:
                self._waiting.remove(turn)
            elif turn.done() and not turn.cancelled():
                self.in_flight -= 1  # admitted, then the client went away
                self._admit_waiting()
            raise

    def _admit_waiting(self) -> None:
        while self._waiting and self.in_flight < self.capacity:
            turn = self._waiting.popleft()
            if not turn.done():
                self.in_flight += 1
                turn.set_result(None)
