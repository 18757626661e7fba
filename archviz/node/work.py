"""How a node takes on work: an admission policy (node/admission.py) decides who starts, who
waits and who is refused; this gate turns its verdicts into awaits on the node's loop."""

import asyncio
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from archviz.node.admission import Completion, Turns, WaitingRoom, make_policy


class QueueFull(Exception):
    """The node is over its limit and its queue is full: the request is refused (503)."""


class QueueTimedOut(QueueFull):
    """The request waited longer than the policy allows: refused (503) rather than served
    to a client that has likely given up."""


def _now_ms() -> float:
    return asyncio.get_running_loop().time() * 1000


class WorkGate:
    def __init__(self, capacity: int, policy: str = "fixed") -> None:
        self.room = WaitingRoom(make_policy(policy, capacity))
        self.served_total = 0
        self.rejected_total = 0  # refused on arrival and timed out in the queue
        self.timed_out_total = 0
        self._turns: dict[int, asyncio.Future] = {}
        self._ids = itertools.count()
        self._timer: asyncio.TimerHandle | None = None

    @property
    def capacity(self) -> int:
        return self.room.policy.capacity

    @property
    def policy(self) -> str:
        return self.room.policy.name

    @property
    def limit(self) -> int:
        return self.room.policy.limit()

    @property
    def in_flight(self) -> int:
        return self.room.in_flight

    @property
    def queued(self) -> int:
        return self.room.queued

    @property
    def queue_limit(self) -> int:
        return self.room.policy.queue_size()

    def set_capacity(self, capacity: int) -> None:
        """Change capacity live; waiting requests start at once if there is room now."""
        if max(1, capacity) != self.capacity:
            self.room.policy.capacity = max(1, capacity)
            self._apply(self.room.turns(_now_ms()))

    def set_policy(self, name: str) -> None:
        """Switch the admission policy live (a fresh one: adaptive limits start over);
        raises admission.UnknownPolicy."""
        if name != self.policy:
            self.room.policy = make_policy(name, self.capacity)
            self._apply(self.room.turns(_now_ms()))

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[bool]:
        """Hold a working slot; yields True if the request had to wait in the queue."""
        waiter_id = next(self._ids)
        verdict = self.room.arrive(waiter_id, _now_ms())
        if verdict == "reject":
            self.rejected_total += 1
            raise QueueFull(f"{self.in_flight} working, {self.queued} queued (limit)")
        if verdict == "wait":
            await self._wait_for_turn(waiter_id)
        started, answered = _now_ms(), False
        try:
            yield verdict == "wait"
            answered = True
        finally:
            done = Completion(_now_ms() - started, self.in_flight, dropped=not answered)
            self.served_total += 1
            self._apply(self.room.finish(done, _now_ms()))

    async def _wait_for_turn(self, waiter_id: int) -> None:
        turn = asyncio.get_running_loop().create_future()
        self._turns[waiter_id] = turn
        self._arm_timer()
        try:
            await turn  # _apply counted us in (or timed us out) before resolving
        except asyncio.CancelledError:
            self._turns.pop(waiter_id, None)
            if turn.done() and not turn.cancelled() and turn.exception() is None:
                self._apply(self.room.release(_now_ms()))  # admitted, then the client left
            else:
                self.room.leave(waiter_id, _now_ms())
            raise

    def _apply(self, turns: Turns) -> None:
        for waiter in turns.started:
            turn = self._turns.pop(waiter.id, None)
            if turn is None or turn.done():  # its client left as its turn came
                self._apply(self.room.release(_now_ms()))
            else:
                turn.set_result(None)
        for waiter in turns.expired:
            self.rejected_total += 1
            self.timed_out_total += 1
            turn = self._turns.pop(waiter.id, None)
            if turn is not None and not turn.done():
                waited = _now_ms() - waiter.arrived_ms
                turn.set_exception(QueueTimedOut(f"waited {waited:.0f} ms in the queue"))
        self._arm_timer()

    def _arm_timer(self) -> None:
        """Wake up when the next waiter is due to time out."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        deadline = self.room.next_deadline_ms()
        if deadline is not None:
            delay_s = max(0.0, (deadline - _now_ms()) / 1000)
            self._timer = asyncio.get_running_loop().call_later(delay_s, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._apply(self.room.turns(_now_ms()))
