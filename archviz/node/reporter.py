"""The node's pressure report (issue 12): every 100 ms, measure the node's pressure and SET
it in `archviz:pressure:<id>` (PX 1500) for the balancer and the pages.

A thread of its own, not a task on the node's loop, for two reasons: the loop is what is
being measured, and a loop that is busy or blocked must still be reported as such (a task on
it would fall silent just when it matters; the LagProbe's overdue reading says how late the
loop is); and the SET is a blocking call that must not cost the loop's clients anything.
Only a frozen process (SIGSTOP) stops the report, and its key expiring is the signal.

It measures before it writes, so admission (which reads `runtime.latest_pressure`) stays
current when Redis is away; the report resumes when Redis is back (logged once per outage).
"""

import contextlib
import json
import logging
import threading
import time

import redis

from archviz.core import keys
from archviz.core.redis_conn import shared_client
from archviz.core.registry import now_ms
from archviz.node.runtime import NodeRuntime

log = logging.getLogger(__name__)

REPORT_EVERY_S = 0.1
REPORT_TTL_MS = 1500  # missing for 1.5 s: not reporting (frozen or dead)


def pressure_report(runtime: NodeRuntime, reading: dict) -> dict:
    """The contract's report, from a reading and the node's config and counters."""
    counters, config = runtime.overload_counters, runtime.config
    return {
        "value": reading["value"],
        "dominant": reading["dominant"],
        "ts": int(now_ms()),
        "reject_above": config.reject_above / 100,
        "shed_above": config.shed_above / 100,
        "websockets": reading["signals"]["websockets"],
        "ws_limit": config.ws_limit,
        "handshakes_total": counters.handshakes_total,
        "rejected_ws_total": counters.rejected_ws_total,
        "rejected_http_total": counters.rejected_http_total,
        "shed_total": counters.shed_total,
    }


class PressureReporter:
    """Measures the node's pressure and reports it, every `interval` s, on its own thread."""

    def __init__(self, runtime: NodeRuntime, interval: float = REPORT_EVERY_S) -> None:
        self.runtime = runtime
        self.interval = interval
        self.reports = 0  # written to Redis
        self._reporting = True  # False during an outage: log it once
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pressure", daemon=True)

    def start(self) -> "PressureReporter":
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop reporting and remove the report: a stopped node is not reporting."""
        self._stop.set()
        self._thread.join(2)
        with contextlib.suppress(redis.RedisError):
            shared_client().delete(keys.node_pressure(self.runtime.node_id))

    def _run(self) -> None:
        due = time.monotonic()
        while not self._stop.is_set():
            self.report_once()
            # on a fixed schedule, so that a slow SET does not stretch the period
            due = max(due + self.interval, time.monotonic())
            self._stop.wait(due - time.monotonic())

    def report_once(self) -> None:
        report = pressure_report(self.runtime, self.runtime.measure())
        try:
            shared_client().set(
                keys.node_pressure(self.runtime.node_id), json.dumps(report), px=REPORT_TTL_MS
            )
        except redis.RedisError as exc:
            if self._reporting:
                log.warning("%s: pressure report failed: %s", self.runtime.node_id, exc)
            self._reporting = False
            return
        if not self._reporting:
            log.info("%s: reporting its pressure again", self.runtime.node_id)
        self._reporting = True
        self.reports += 1
