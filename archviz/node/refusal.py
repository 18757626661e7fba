"""Work a node refuses before it queues (issue 12), for its front door (node/door.py): work
out of range, or the node's pressure over its reject threshold. (A gate with no room says so
itself, as the door asks it for a slot.)"""

import math
from dataclasses import dataclass

from archviz.core.http import ANONYMOUS_WORK_MS, MAX_WORK_MS, work_limit_ms
from archviz.node.runtime import NodeRuntime
from archviz.node.sockets import RETRY_AFTER_MS

# A refused request's Retry-After: the same hint as a refused WebSocket's (sockets.py says
# why), in the whole seconds the header takes.
OVERLOADED_RETRY_AFTER_S = math.ceil(RETRY_AFTER_MS / 1000)
DEFAULT_WORK_MS = "10"


@dataclass(frozen=True)
class Refusal:
    status: int  # 400: work out of range; 503: no room for it now
    body: dict

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(OVERLOADED_RETRY_AFTER_S)} if self.status == 503 else {}


def refuse_work(
    runtime: NodeRuntime, ms: str, lab_client: str | None
) -> tuple[float, Refusal | None]:
    """The work asked for, and why it is refused before it queues (counted), or None: work
    out of range (up to ANONYMOUS_WORK_MS for anyone, MAX_WORK_MS for the lab's own clients),
    or the node's pressure over its reject threshold. The admin's capacity and policy are
    applied to the gate here, on the node's loop, before the request asks it for a slot."""
    try:
        work_ms = float(ms)
    except ValueError:
        work_ms = -1.0
    limit = work_limit_ms(lab_client)
    if not 0 <= work_ms <= limit:
        return work_ms, Refusal(400, {"node": runtime.node_id, "error": _range(work_ms, limit)})
    overloaded = _overload_refusal(runtime)
    if overloaded is not None:
        runtime.overload_counters.rejected_http_total += 1
        body = {"node": runtime.node_id, "error": "overloaded", "detail": overloaded}
        return work_ms, Refusal(503, body)
    runtime.gate.set_capacity(runtime.config.capacity)
    runtime.gate.set_policy(runtime.config.admission)
    return work_ms, None


def _overload_refusal(runtime: NodeRuntime) -> str | None:
    """Why new work is refused before it queues: the node's pressure (its reporter's last
    measure, or its open sockets counted now: the WebSocket handshake's figure) is above its
    reject threshold. None: admit it to the gate. A threshold of
    100 % never refuses (pressure is at most 1.0)."""
    pressure, threshold = runtime.pressure_now(), runtime.config.reject_above / 100
    if pressure <= threshold:
        return None
    dominant = (runtime.latest_reading or {}).get("dominant", "pressure")
    if pressure > runtime.latest_pressure:  # the sockets counted now, as the handshake does
        dominant = "websockets"
    return f"pressure {pressure:.2f} > {threshold:.2f} ({dominant})"


def _range(work_ms: float, limit: float) -> str:
    refusal = f"ms must be a number from 0 to {limit:g}"
    if limit == ANONYMOUS_WORK_MS and limit < work_ms <= MAX_WORK_MS:
        refusal += f" (up to {MAX_WORK_MS} only for the lab's own traffic generator)"
    return refusal
