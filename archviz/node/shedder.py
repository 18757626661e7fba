"""Load shedding on the node's event loop (issue 12): above its shed threshold for
SHED_AFTER_MS, every SHED_EVERY_S the node closes a batch of its WebSockets (10 %, at least
one) chosen by its shed policy, until it is back under. Each shed client is sent
`{"type": "shed", "node", "retry_after_ms", "pressure"}` and closed with 4014
(close_codes.SHED); each batch is one `shed.disconnect` trace event.

What shedding can and cannot relieve: closing sockets lowers the websockets signal at once
(the node counts it itself, sockets.pressure_now), so a node over because of its sockets
gets back under within a few batches. A node over because of CPU, memory or loop lag (a
hog) may not get better by losing clients: every batch would then be more disconnected
learners for nothing. So the automatic shedder closes at most CAP_FRACTION of the sockets
in any CAP_WINDOW_MS (half in 5 s): a hog costs the node half its clients, not all of them,
and the instructor sees pressure stay high with shedding on. An instructor's "shed N % now"
(NodeRuntime.shed_now) is not capped, but counts in the window. Never an instructor: a
node left with only instructors' sockets stays over its threshold, shedding with nothing to
shed, and says so in its heartbeat (extra.overload.shedding).
"""

import asyncio
import logging
import random
from collections import Counter, deque
from typing import TYPE_CHECKING

from archviz.core import close_codes
from archviz.core.registry import now_ms
from archviz.node.shedding import choose_shed, shed_count
from archviz.node.sockets import SHED_RETRY_AFTER_MS
from archviz.trace.emitter import get_emitter

if TYPE_CHECKING:
    from archviz.node.runtime import NodeRuntime

log = logging.getLogger(__name__)
SHED_EVERY_S = 0.2
SHED_AFTER_MS = 500  # over the threshold this long before the first batch: not one spike
BATCH_FRACTION = 0.1
CAP_FRACTION = 0.5
CAP_WINDOW_MS = 5000


class ShedPlan:
    """When to shed and how many (pure: the caller passes the time and the readings)."""

    def __init__(self) -> None:
        self.over_since: float | None = None
        self.shedding = False  # over the threshold for SHED_AFTER_MS: batches are due
        self._recent: deque[tuple[float, int]] = deque()  # (ms, count) of sheds in the window

    def batch(self, now: float, pressure: float, shed_above: float, open_sockets: int) -> int:
        """How many sockets to shed now (0 when under, not over for long enough, or capped)."""
        if pressure <= shed_above:
            self.over_since, self.shedding = None, False
            return 0
        if self.over_since is None:
            self.over_since = now
        self.shedding = now - self.over_since >= SHED_AFTER_MS
        if not self.shedding:
            return 0
        return min(shed_count(open_sockets, BATCH_FRACTION), self.budget(now, open_sockets))

    def budget(self, now: float, open_sockets: int) -> int:
        """What the cap still allows: half of the sockets there were over the window."""
        while self._recent and self._recent[0][0] <= now - CAP_WINDOW_MS:
            self._recent.popleft()
        shed = sum(count for _, count in self._recent)
        return max(0, int(CAP_FRACTION * (open_sockets + shed)) - shed)

    def record(self, now: float, count: int) -> None:
        if count:
            self._recent.append((now, count))


class Shedder:
    """Runs the plan against the node's registry and closes what it chooses."""

    def __init__(self, runtime: "NodeRuntime", rng: random.Random | None = None) -> None:
        self.runtime = runtime
        self.plan = ShedPlan()
        self.rng = rng or random.Random()
        self._closing: set[asyncio.Task] = set()  # held: the loop keeps only weak references

    async def run(self) -> None:
        while True:
            try:
                self.tick(now_ms())
            except Exception:  # a bad tick must not end shedding for the node's lifetime
                log.exception("%s: a shedding check failed", self.runtime.node_id)
            await asyncio.sleep(SHED_EVERY_S)

    def tick(self, now: float) -> int:
        """One check: shed a batch if one is due; how many were shed."""
        runtime = self.runtime
        pressure, shed_above = runtime.pressure_now(), runtime.config.shed_above / 100
        count = self.plan.batch(now, pressure, shed_above, len(runtime.sockets))
        runtime.overload_counters.shedding = self.plan.shedding
        return self.shed(count, pressure, "over the shed threshold") if count else 0

    def shed_now(self, percent: int) -> int:
        """An instructor's "shed N % now": how many sockets it closed (never an instructor)."""
        if isinstance(percent, bool) or not isinstance(percent, int) or not 1 <= percent <= 100:
            raise ValueError(f"percent: a whole number from 1 to 100, got {percent!r}")
        count = shed_count(len(self.runtime.sockets), percent / 100)
        return self.shed(count, self.runtime.pressure_now(), f"an instructor's {percent} % now")

    def shed(self, count: int, pressure: float, why: str) -> int:
        """Close up to `count` sockets chosen by the node's policy; one trace event."""
        runtime = self.runtime
        policy = runtime.config.shed_policy
        chosen = choose_shed(runtime.sockets.clients(), count, policy, self.rng)
        message = {"type": "shed", "node": runtime.node_id,
                   "retry_after_ms": SHED_RETRY_AFTER_MS, "pressure": pressure}  # fmt: skip
        roles: Counter[str] = Counter()
        for client in chosen:
            socket = runtime.sockets.remove(client.id)
            if socket is not None:  # out of the registry now: counted once, never chosen twice
                roles[socket.role] += 1
                self._close_later(socket.close(message, close_codes.SHED))
        shed = sum(roles.values())
        if shed:
            runtime.overload_counters.shed_total += shed
            self.plan.record(now_ms(), shed)
            detail = {"count": shed, "policy": policy, "pressure": pressure,
                      "roles": dict(roles), "why": why}  # fmt: skip
            get_emitter().emit("shed.disconnect", "clients", ok=False, detail=detail)
        return shed

    def _close_later(self, closing) -> None:
        task = asyncio.get_running_loop().create_task(closing)
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)
