"""The node's HTTP endpoints."""

import asyncio
import json
import random
import time

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from archviz.core import keys
from archviz.core.http import (
    LAB_CLIENT_HEADER,
    is_lab_client,
)
from archviz.core.redis_conn import shared_client
from archviz.node.door import ADMITTED, Admitted
from archviz.node.runtime import PINGS_PER_S, NodeRuntime, get_runtime
from archviz.trace.emitter import get_emitter
from archviz.trace.events import now_ms


def _json(payload: dict, **kwargs) -> JsonResponse:
    """A JSON answer with its Content-Length (the node runs no CommonMiddleware to add it),
    so that proxies can read it whole and keep the connection alive."""
    response = JsonResponse(payload, **kwargs)
    response["Content-Length"] = str(len(response.content))
    return response


@require_GET
async def health(request: HttpRequest) -> JsonResponse:
    return _json({"node": get_runtime().node_id, "ok": True})


@csrf_exempt  # called by the dashboard's server (no Origin), checked below, never a form
@require_POST
async def ping(request: HttpRequest) -> JsonResponse:
    """Answer a ping through Redis: record it, then publish the pong for the dashboard.

    The pong carries the `nonce` the dashboard sent, which only the dashboard knows, so that
    a ping posted by anyone else (with a trace id read off the trace log) resolves nothing."""
    runtime = get_runtime()
    refusal = _ping_refusal(runtime, request.headers.get("Origin"), _pinger(request))
    if refusal is not None:
        runtime.pings_refused_total += 1
        status, reason = refusal
        headers = {"Retry-After": "1"} if status == 429 else {}
        return _json({"node": runtime.node_id, "error": reason}, status=status, headers=headers)
    trace = request.GET.get("trace", "")[:64]
    nonce = request.GET.get("nonce", "")[:64]
    if runtime.config.latency_ms:
        await asyncio.sleep(runtime.config.latency_ms / 1000)
    started = time.perf_counter()
    pong = {"trace": trace, "node": runtime.node_id, "ts": now_ms(), "nonce": nonce}
    count = await asyncio.to_thread(_record_pong, runtime.node_id, pong)
    get_emitter().emit(
        "pubsub.publish",
        "redis",
        trace=trace or None,
        ms=(time.perf_counter() - started) * 1000,
        detail={"channel": keys.PONG_CHANNEL, "pings_answered": count},
    )
    return _json(pong | {"count": count})


def _ping_refusal(runtime: NodeRuntime, origin: str | None, pinger: str) -> tuple[int, str] | None:
    """Why a ping is refused: posted by a page that is not a dashboard's (a server's call has
    no Origin), or one too many from this caller this second; None: answer it."""
    if origin is not None and origin not in runtime.dashboard_origins:
        return 403, f"origin {origin[:80]!r} may not ping a node: only the dashboards' pages may"
    if not runtime.ping_buckets.take(pinger, time.monotonic()):
        return 429, f"too many pings: a node answers at most {PINGS_PER_S} a second from each"
    return None


def _pinger(request: HttpRequest) -> str:
    """Whose tokens a ping spends: the dashboards' (their server proves it), else its
    address's."""
    if is_lab_client(request.headers.get(LAB_CLIENT_HEADER)):
        return "the dashboards"
    return request.META.get("REMOTE_ADDR") or "unknown"


def _record_pong(node_id: str, pong: dict) -> int:
    pipe = shared_client().pipeline(transaction=True)
    pipe.incr(keys.ping_count(node_id))
    pipe.publish(keys.PONG_CHANNEL, json.dumps(pong))
    count, _receivers = pipe.execute()
    return count


@require_GET
async def work(request: HttpRequest) -> JsonResponse:
    """Do the work the front door let in (node/door.py refused, queued and admitted it
    before Django): `ms` of it, a wait like a call to a database, in one of the node's
    capacity slots."""
    runtime = get_runtime()
    admitted: Admitted = request.scope[ADMITTED]
    started = time.perf_counter()
    config = runtime.config
    delay_ms = admitted.work_ms + config.latency_ms + random.uniform(0, config.jitter_ms)
    async with runtime.gate.backend.slot():  # capacity slots at once (work.py)
        await asyncio.sleep(delay_ms / 1000)
    return _json(
        {
            "node": runtime.node_id,
            "queued": admitted.queued,
            "queued_ms": admitted.queued_ms,
            "worked_ms": round((time.perf_counter() - started) * 1000, 3),
        },
        headers={
            "X-Archviz-Node": runtime.node_id,
            "X-Archviz-Queued": "true" if admitted.queued else "false",
        },
    )
