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
            await handle(scope | {ADMITTED: Admitted(work_ms, queued, waited_ms)}, receive, send)
    except QueueFull as full:  # refused on arrival (a race with the check) or timed out
        body = {"node": runtime.node_id, "error": "over capacity", "detail": str(full)}
        await _answer(send, runtime, Refusal(503, body))


async def _answer(send, runtime: NodeRuntime, refused: Refusal) -> None:
    """The refusal as a JSON answer, with the headers the view's answers carry."""
    content = json.dumps(refused.body).encode()
    fields = {"Content-Type": "application/json", "Content-Length": str(len(content)),
              NODE_HEADER: runtime.node_id} | refused.headers  # fmt: skip
    raw = [(name.lower().encode(), value.encode()) for name, value in fields.items()]
    await send({"type": "http.response.start", "status": refused.status, "headers": raw})
    await send({"type": "http.response.body", "body": content})
