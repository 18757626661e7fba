"""What the auth service's handlers share (auth_service.py, auth_admin.py): the application's
state, refusals in the shape of the gateway's own answers, bounded bodies, Redis off the
event loop, counts and trace events."""

import asyncio
from collections.abc import Callable
from typing import Any, Literal

import redis
from aiohttp import web
from multidict import CIMultiDict

from archviz.gateway import answers
from archviz.gateway.answers import Denial
from archviz.gateway.routes import Route
from archviz.trace.emitter import Emitter

SERVICE = "auth"
SERVICE_HEADER = "X-Archviz-Service"

Caller = Literal["anonymous", "learner", "instructor"]


class Counts:
    """What the service answered, for its heartbeat: tokens issued (by role), refusals by
    their error, the instructors' actions, and requests in flight."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.requests = 0
        self.issued: dict[str, int] = {}
        self.refused: dict[str, int] = {}
        self.actions: dict[str, int] = {}

    @staticmethod
    def _add(counts: dict[str, int], name: str) -> None:
        counts[name] = counts.get(name, 0) + 1

    def issue(self, role: str) -> None:
        self._add(self.issued, role)

    def refuse(self, error: str) -> None:
        self._add(self.refused, error)

    def act(self, action: str) -> None:
        self._add(self.actions, action)

    def snapshot(self) -> dict[str, Any]:
        return {"issued": sum(self.issued.values()), "issued_by_role": dict(self.issued),
                "refused": dict(self.refused), "actions": dict(self.actions)}  # fmt: skip


NAME = web.AppKey("name", str)
CLIENT = web.AppKey("client", Callable[[], redis.Redis])
EMITTER = web.AppKey("emitter", Callable[[], Emitter])
CALLER = web.AppKey("caller", Callable[[str], Caller])
CLOCK = web.AppKey("clock", Callable[[], float])
COUNTS = web.AppKey("counts", Counts)


class Refused(Exception):
    """A request answered with `denial` (raised by a handler, answered by the middleware)."""

    def __init__(self, denial: Denial) -> None:
        super().__init__(denial.body.get("message", ""))
        self.denial = denial


def refusal(status: int, error: str, message: str) -> Denial:
    """A denial in the shape of the gateway's own answers: {"error", "message"}."""
    return Denial(status, (answers.JSON,), {"error": error, "message": message[:200]})


async def read_body(request: web.Request, route: Route) -> bytes:
    """The body, at most the route's max_body_bytes (413 past it, however it is sent)."""
    limit = route.max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        raise Refused(answers.body_too_large(limit))
    try:
        body = await request.read()  # a body sent chunked: aiohttp stops at client_max_size
    except web.HTTPRequestEntityTooLarge:
        raise Refused(answers.body_too_large(limit)) from None
    if len(body) > limit:
        raise Refused(answers.body_too_large(limit))
    return body


async def in_thread(request: web.Request, call: Callable[..., Any], *args: Any) -> Any:
    """`call(client, *args)` off the event loop (the client's short timeout bounds it)."""
    return await asyncio.to_thread(call, request.app[CLIENT](), *args)


def json_response(
    request: web.Request, body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    extra = {SERVICE_HEADER: request.app[NAME], "Cache-Control": "no-store"} | (headers or {})
    return web.json_response(body, status=status, headers=extra)


def denial_response(request: web.Request, denial: Denial) -> web.Response:
    """The denial as an answer, counted as refused by its error."""
    headers = CIMultiDict(denial.headers)
    headers[SERVICE_HEADER] = request.app[NAME]
    headers["Cache-Control"] = "no-store"
    response = web.Response(status=denial.status, body=denial.json_bytes(), headers=headers)
    request.app[COUNTS].refuse(denial.body["error"])
    return response


def emit(request: web.Request, kind: str, dst: str, *, ok: bool = True, **detail: Any) -> None:
    """A trace event of the gateway demo from this replica."""
    request.app[EMITTER]().emit(kind, dst, demo="gateway", ok=ok, detail=detail)
