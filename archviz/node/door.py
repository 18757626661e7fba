"""The node's front door for /work (issue 12): each request is refused, queued and let in
here, at the ASGI layer, before Django builds a request; only admitted work reaches Django
and the view (node/views.py), which does the work in the slot the door holds for it.

Past capacity most requests never get in, and a refusal or a time-out must cost the node
little, or refusing itself becomes the overload: Django's handling of each request (a
request and a response object, two hops to a thread) was most of the node's event loop at
4x its capacity (py-spy, bench.overload's http part). A client that leaves while waiting
is let go by daphne (its application timeout) or by the policy's own queue timeout, and
Django, once let in, sees that it left before any work starts.
"""

import asyncio
import json
import time
from typing import NamedTuple
from urllib.parse import parse_qs

from archviz.core.http import LAB_CLIENT_HEADER, NODE_HEADER
from archviz.node.refusal import DEFAULT_WORK_MS, Refusal, refuse_work
from archviz.node.runtime import NodeRuntime, get_runtime
from archviz.node.work import QueueFull

WORK_PATH = "/work"  # archviz/node/urls.py's
ADMITTED = "archviz.admitted"  # scope key: the Admitted the view works on
LAB_CLIENT = LAB_CLIENT_HEADER.lower().encode()  # as ASGI gives header names


class Admitted(NamedTuple):
    work_ms: float  # what the request asked for, checked
    queued: bool  # it waited for its turn
    queued_ms: float  # how long


def is_work(scope) -> bool:
    return scope["type"] == "http" and scope["path"] == WORK_PATH and scope["method"] == "GET"


async def work(handle, scope, receive, send) -> None:
    """Refuse, or wait for a slot and hand the request to Django (`handle`) holding it."""
    runtime = get_runtime()
    query = parse_qs(scope["query_string"].decode("latin-1"), keep_blank_values=True)
    lab_client = next((v.decode("latin-1") for k, v in scope["headers"] if k == LAB_CLIENT), None)
    work_ms, refused = refuse_work(runtime, query.get("ms", [DEFAULT_WORK_MS])[-1], lab_client)
    if refused is not None:
        await _answer(send, runtime, refused)
        return
    arrived = time.perf_counter()
    try:
        async with runtime.gate.slot() as queued:
            waited_ms = round((time.perf_counter() - arrived) * 1000, 3)
            admitted = scope | {ADMITTED: Admitted(work_ms, queued, waited_ms)}
            handling = asyncio.create_task(handle(admitted, receive, answered := Answered(send)))
            try:
                await asyncio.wait([handling, answered.sent], return_when=asyncio.FIRST_COMPLETED)
            except asyncio.CancelledError:  # daphne gave up on the request
                handling.cancel()
                raise
            if handling.done():
                handling.result()  # ended before its answer was sent: a failure in the slot
    except QueueFull as full:  # refused on arrival (a race with the check) or timed out
        body = {"node": runtime.node_id, "error": "over capacity", "detail": str(full)}
        await _answer(send, runtime, Refusal(503, body))
        return
    await handling  # Django's own end of the request, after the slot is free


class Answered:
    """The ASGI `send` of an admitted request, which says when its answer is all sent: the
    slot is then free for the next request, while Django ends this one (its response.close
    and request_finished, a hop to a thread and back) outside it. Held to the end, the slot
    also covered that hop, which under load waits its turn for the thread, and the policies
    read it as work: at 4x capacity the slots stood idle for it."""

    def __init__(self, send) -> None:
        self._send = send
        self.sent = asyncio.get_running_loop().create_future()

    async def __call__(self, message) -> None:
        await self._send(message)
        last = message["type"] == "http.response.body" and not message.get("more_body", False)
        if last and not self.sent.done():
            self.sent.set_result(None)


async def _answer(send, runtime: NodeRuntime, refused: Refusal) -> None:
    """The refusal as a JSON answer, with the headers the view's answers carry."""
    content = json.dumps(refused.body).encode()
    fields = {"Content-Type": "application/json", "Content-Length": str(len(content)),
              NODE_HEADER: runtime.node_id} | refused.headers  # fmt: skip
    raw = [(name.lower().encode(), value.encode()) for name, value in fields.items()]
    await send({"type": "http.response.start", "status": refused.status, "headers": raw})
    await send({"type": "http.response.body", "body": content})
