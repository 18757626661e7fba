"""How a node takes on work: an admission policy (node/admission.py) decides who starts, who
waits and who is refused; this gate turns its verdicts into awaits on the node's loop.

Behind the gate, the work itself waits on a Backend of `capacity` slots (a database's
connection pool, say). That is what makes capacity real: a policy whose limit grows past it
does not make the node faster, its extra requests wait for a slot, and their round trips say
so; the adaptive policies learn from exactly those round trips."""

import asyncio
import itertools
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from archviz.node.admission import Completion, Turns, WaitingRoom, make_policy


class QueueFull(Exception):
    """The node is over its limit and its queue is full: the request is refused (503)."""


class QueueTimedOut(QueueFull):
    """The request waited longer than the policy allows: refused (503) rather than served
    to a client that has likely given up."""


def _now_ms() -> float:
    return asyncio.get_running_loop().time() * 1000


def _clock_ms() -> float:
    """The loop's clock read from any thread (asyncio's loop.time() is time.monotonic())."""
    return time.monotonic() * 1000


RECENT_MS = 1000.0  # the window of the queue times and round trips the page plots


class Backend:
    """`capacity` slots at once, taken first come, first served; the rest wait for one."""

    def __init__(self, capacity: int) -> None:
        self.capacity = max(1, capacity)
        self.busy = 0
        self._waiting: deque[asyncio.Future] = deque()

    @property
    def waiting(self) -> int:
        return sum(not turn.done() for turn in list(self._waiting))  # list(): one step

    def set_capacity(self, capacity: int) -> None:
        self.capacity = max(1, capacity)
        self._hand_over()

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        if self.busy < self.capacity and not self._waiting:
            self.busy += 1
        else:
            turn = asyncio.get_running_loop().create_future()
            self._waiting.append(turn)
            try:
                await turn  # _hand_over counted us in before resolving
            except asyncio.CancelledError:
                if turn.cancelled():
                    with suppress(ValueError):
                        self._waiting.remove(turn)
                else:  # given a slot as its client went away: give it on
                    self._release()
                raise
        try:
            yield
        finally:
            self._release()

    def _release(self) -> None:
        self.busy -= 1
        self._hand_over()

    def _hand_over(self) -> None:
        while self._waiting and self.busy < self.capacity:
            turn = self._waiting.popleft()
            if not turn.done():
                self.busy += 1
                turn.set_result(None)


class WorkGate:
    def __init__(self, capacity: int, policy: str = "fixed") -> None:
        self.room = WaitingRoom(make_policy(policy, capacity))
        self.backend = Backend(capacity)
        # (when, ms): the waits in the queue (served or timed out) and the round trips of
        # the last RECENT_MS; read by the heartbeat's thread through recent()
        self._waits: deque[tuple[float, float]] = deque()
        self._rtts: deque[tuple[float, float]] = deque()
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
            self.backend.set_capacity(capacity)
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
        arrived = _now_ms()
        verdict = self.room.arrive(waiter_id, arrived)
        if verdict == "reject":
            self.rejected_total += 1
            raise QueueFull(f"{self.in_flight} working, {self.queued} queued (limit)")
        if verdict == "wait":
            await self._wait_for_turn(waiter_id)
        started, answered = _now_ms(), False
        self._note(self._waits, started, started - arrived)
        try:
            yield verdict == "wait"
            answered = True
        finally:
            done = Completion(_now_ms() - started, self.in_flight, dropped=not answered)
            self.served_total += 1
            self._note(self._rtts, _now_ms(), done.rtt_ms)
            self._apply(self.room.finish(done, _now_ms()))

    def recent(self) -> dict[str, float]:
        """What the page plots beside the limit: the longest wait in the queue and the mean
        round trip over the last RECENT_MS (0 when there was none), and what the policy
        reads its round trips against (admission.Policy.describe)."""
        since = _clock_ms() - RECENT_MS
        waits = [ms for at, ms in list(self._waits) if at >= since]  # list(): one step
        rtts = [ms for at, ms in list(self._rtts) if at >= since]
        return {
            "queue_ms": round(max(waits, default=0.0), 3),
            "rtt_ms": round(sum(rtts) / len(rtts), 3) if rtts else 0.0,
        } | self.room.policy.describe()

    @staticmethod
    def _note(samples: deque[tuple[float, float]], at_ms: float, ms: float) -> None:
        samples.append((at_ms, ms))
        while samples and samples[0][0] < at_ms - RECENT_MS:
            samples.popleft()

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
            self._note(self._waits, _now_ms(), _now_ms() - waiter.arrived_ms)
            if turn is not None and not turn.done():
                waited = _now_ms() - waiter.arrived_ms
                turn.set_exception(QueueTimedOut(f"waited {waited:.0f} ms in the queue"))
        self._arm_timer()

    def _arm_timer(self) -> None:
        """Wake up when the next waiter is due to time out."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        deadline = self.room.next_deadline_ms(_now_ms())
        if deadline is not None:
            delay_s = max(0.0, (deadline - _now_ms()) / 1000)
            self._timer = asyncio.get_running_loop().call_later(delay_s, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._apply(self.room.turns(_now_ms()))
