"""The cart on the node: GET /cart/, POST /cart/items, POST /cart/clear, each reached
through the load balancer from a learner's tab on the dashboard's origin."""

import asyncio
import re
import secrets
from collections.abc import Callable

import redis
from django.http import HttpRequest, HttpResponse, JsonResponse

from archviz.core.origins import cors_headers
from archviz.core.runner import current_component
from archviz.sessions import reads
from archviz.sessions.cart import (
    CART_KEY,
    BadCartRequest,
    Cart,
    add_item,
    count_items,
    fingerprint,
)
from archviz.sessions.cart import parse_item as parse_item_body
from archviz.sessions.cors import preflight_headers, write_refusal
from archviz.sessions.follower import get_follower
from archviz.sessions.modes import Mode, where
from archviz.sessions.stores import CART_TTL_S, Read, read_cart, write_cart
from archviz.trace.emitter import get_emitter
from archviz.trace.events import new_trace_id

CART_COOKIE = "archviz_cart"  # never `sessionid`: browsers send it to the dashboard's port too
STICKY_COOKIE = "archviz_sticky"  # what the LB's consistent hash hashes (balancer.outcomes)
COOKIE_PATH = "/cart/"  # the dashboard serves nothing under /cart/, so it never sees them
TRACE_ID = re.compile(r"[0-9a-f]{1,32}")

Change = Callable[[Cart], Cart]


def _answer(payload: dict, status: int = 200, headers: dict | None = None) -> JsonResponse:
    """JSON with its Content-Length (the node runs no CommonMiddleware), never cached."""
    response = JsonResponse(payload, status=status, headers=headers)
    response["Content-Length"] = str(len(response.content))
    response["Cache-Control"] = "no-store"
    return response


def _refuse(reason: str, status: int, headers: dict) -> JsonResponse:
    return _answer({"node": current_component().id, "error": reason}, status, headers)


async def cart(request: HttpRequest) -> HttpResponse:
    """GET /cart/: the learner's cart, as this node's session store has it."""
    return await _serve(request, "GET", None)


async def items(request: HttpRequest) -> HttpResponse:
    """POST /cart/items {"item": "apple"}: one more of an item."""
    return await _serve(request, "POST", lambda body: _adding(parse_item_body(body)))


async def clear(request: HttpRequest) -> HttpResponse:
    """POST /cart/clear: empty the cart."""
    return await _serve(request, "POST", lambda body: lambda cart: {})


def _adding(item: str) -> Change:
    return lambda cart: add_item(cart, item)


async def _serve(
    request: HttpRequest, method: str, parse: Callable[[bytes], Change] | None
) -> HttpResponse:
    """CORS, method and origin checks, then read (and change) the cart in the mode's store."""
    follower = get_follower()
    origin = request.headers.get("Origin")
    if request.method == "OPTIONS":
        response = HttpResponse(status=204, headers=preflight_headers(origin, follower.origins))
        response["Content-Length"] = "0"
        return response
    cors = cors_headers(origin, follower.origins)
    if request.method != method:
        allow = {"Allow": f"{method}, OPTIONS"}
        return _refuse(f"use {method} here, not {request.method}", 405, cors | allow)
    refusal = method == "POST" and write_refusal(origin, request.content_type, follower.origins)
    if refusal:
        return _refuse(refusal, 403, cors)
    try:
        change = parse(request.body) if parse else None
        return await _carry_out(request, follower.mode, change, cors)
    except BadCartRequest as bad:
        return _refuse(bad.reason, bad.status, cors)


async def _carry_out(
    request: HttpRequest, mode: Mode, change: Change | None, cors: dict
) -> HttpResponse:
    trace = request.GET.get("trace", "")
    trace = trace if TRACE_ID.fullmatch(trace) else new_trace_id()
    job = _CartJob(current_component().id, mode, trace)
    key = request.COOKIES.get(CART_COOKIE)
    try:
        if mode.store == "redis":  # a network round trip: off the event loop
            payload = await asyncio.to_thread(job.run, key, change)
        else:  # a dict in this process: no I/O to wait for
            payload = job.run(key, change)
    except redis.RedisError as exc:
        reason = f"Redis is unreachable, so the session could not be used: {exc}"[:200]
        return _refuse(reason, 503, cors | {"Retry-After": "1"})
    response = _answer(payload, headers=cors)
    _set_cookies(response, request, job.session_key)
    return response


def _set_cookies(response: HttpResponse, request: HttpRequest, session_key: str | None) -> None:
    # Unlike SessionMiddleware, which deletes the cookie of a session it did not find, the
    # cookie stays: a cart kept in another node's memory shows again when a request lands there.
    if session_key:  # the session this node found or wrote: the browser keeps its key
        response.set_cookie(CART_COOKIE, session_key, max_age=CART_TTL_S, path=COOKIE_PATH,
                            httponly=True, samesite="Lax")  # fmt: skip
    if STICKY_COOKIE not in request.COOKIES:
        # Set once and never changed: the LB hashes it to pick this client's node.
        response.set_cookie(STICKY_COOKIE, secrets.token_urlsafe(12), max_age=CART_TTL_S,
                            path=COOKIE_PATH, httponly=True, samesite="Lax")  # fmt: skip


class _CartJob:
    """One request's session work, traced: read, then maybe change and write."""

    def __init__(self, node_id: str, mode: Mode, trace: str) -> None:
        self.node_id = node_id
        self.mode = mode
        self.trace = trace
        self.where = where(mode.store, node_id)
        self.dst = "redis" if mode.store == "redis" else node_id
        self.session_key: str | None = None

    def run(self, key: str | None, change: Change | None) -> dict:
        try:
            read = read_cart(self.mode.store, key)
        except redis.RedisError as exc:
            self._emit("session.read", None, ok=False, error=str(exc)[:120])
            raise
        if read.session.looked_up:  # without a cookie the store was not asked: no event
            reads.count(read.session.found)
            self._emit("session.read", read.ms, found=read.session.found,
                       items=count_items(read.cart), session=fingerprint(key))  # fmt: skip
        written = self._write(read, change) if change is not None else None
        self.session_key = read.session.session_key
        return {
            "node": self.node_id,
            "mode": self.mode.name,
            "where": self.where,
            "trace": self.trace,
            "session": fingerprint(self.session_key),
            "found": read.session.found,
            "looked_up": read.session.looked_up,
            "cart": read.session.get(CART_KEY, {}),
            "items": count_items(read.session.get(CART_KEY, {})),
            "read_ms": round(read.ms, 3),
            "write": written,
        }

    def _write(self, read: Read, change: Change) -> dict | None:
        cart = change(read.cart)  # a refused change (cart full) raises before any write
        if not read.session.found and not cart:
            return None  # nothing to clear: no session is created for an empty cart
        try:
            created, ms = write_cart(read.session, cart)
        except redis.RedisError as exc:
            self._emit("session.write", None, ok=False, error=str(exc)[:120])
            raise
        session = fingerprint(read.session.session_key)
        self._emit("session.write", ms, created=created, items=count_items(cart), session=session)
        return {"created": created, "ms": round(ms, 3)}

    def _emit(self, kind: str, ms: float | None, *, ok: bool = True, **detail) -> None:
        get_emitter().emit(
            kind,
            self.dst,
            src=self.node_id,
            trace=self.trace,
            demo="sessions",
            ok=ok,
            ms=ms,
            detail=detail | {"where": self.where, "mode": self.mode.name},
        )
