"""The reverse proxy: route each request to a node, forward it, relay the answer, trace it.

HTTP requests are routed one by one with the current algorithm; a WebSocket is routed once
and stays pinned to its node for its whole life (archviz.balancer.websocket, which uses the
routing here). Every routing decision is one `lb.route` trace event, stamped when the request
arrives and made and published when it is done.
"""

import asyncio
import json
import logging
import time
from collections.abc import Iterable

from archviz.balancer.algorithms import Balancer, Pick, make_balancer
from archviz.balancer.backends import BackendPool
from archviz.balancer.headers import (
    ClientRequest,
    forward_headers,
    own_answer_headers,
    response_headers,
    vouch,
    was_queued,
)
from archviz.balancer.headroom import with_headroom
from archviz.balancer.health import Transition
from archviz.balancer.outcomes import describe_error, sticky_key, where
from archviz.balancer.outcomes import outcome as outcome_of
from archviz.balancer.request import Request
from archviz.balancer.server import ClientConnection
from archviz.balancer.upstream import (
    BrokenResponse,
    ConnectFailed,
    Disconnected,
    Response,
    UpstreamError,
    UpstreamPool,
)
from archviz.trace.emitter import Emitter
from archviz.trace.events import TRACE_HEADER, given_trace_id, make_event, new_trace_id, now_ms

log = logging.getLogger(__name__)

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
NO_HEALTHY_NODE = "no healthy backend"
JSON_TYPE = {"Content-Type": "application/json; charset=utf-8"}
READ_WHOLE_BODY = 64 * 1024  # smaller answers are read whole, to see if the node queued it
# Failures before any answer came: the connection was refused, closed or reset (a SIGKILLed
# node resets the keep-alive connections the pool still holds). The request may be tried
# once more on another node (may_retry says when).
CONNECT_ERRORS = (ConnectFailed, Disconnected)
# No connection could be opened at all (HTTP path, WebSocket path): the node is ejected, and
# as nothing of the request was sent, any request may be retried, a POST too.
REFUSED = (ConnectFailed,)


def may_retry(method: str, *, refused: bool, attempts: int) -> bool:
    """Whether a request whose attempt failed before any answer may be sent to another node:
    once only; always when no connection could be opened (nothing was sent); else only an
    idempotent one (a reset connection may have carried the request whole)."""
    return attempts == 1 and (refused or method in IDEMPOTENT)


class Unreachable(Exception):
    """No node could be reached for this request (after the one retry it may get)."""


class Arrival:
    """When a request arrived, for its `lb.route` event; the event itself is made only when
    the request is done, and the trace id only when an event needs it: the one the client
    sent in X-Archviz-Trace (a page's flow, forwarded unchanged with the request), else new."""

    __slots__ = ("_given", "_trace", "started", "ts")

    def __init__(self, given: str | None = None) -> None:
        self.ts = now_ms()
        self.started = time.perf_counter()
        self._given = given
        self._trace: str | None = None

    @property
    def trace(self) -> str:
        """The request's trace id, shared by its retry, reject and route events."""
        if self._trace is None:
            self._trace = given_trace_id(self._given) or new_trace_id()
        return self._trace


class Proxy:
    """Routes requests over a `BackendPool` with a switchable algorithm."""

    def __init__(
        self,
        pool: BackendPool,
        emitter: Emitter,
        *,
        source: str = "lb",
        demo: str = "lb",
        algorithm: str = "round_robin",
        backend_timeout_s: float = 10.0,
        open_reads: bool = True,
        fronts_dashboards: bool = False,
    ) -> None:
        self.pool = pool
        self.fronts_dashboards = fronts_dashboards  # frontend.DASHBOARDS says what changes
        self.open_reads = open_reads  # "*" for reads (headers.response_headers)
        self.upstream = UpstreamPool(timeout_s=backend_timeout_s)
        self.emitter = emitter
        self.source = source
        self.demo = demo  # its trace events' demo: "lb" for the nodes, "gateway" for the replicas
        self.balancer: Balancer = make_balancer(algorithm)
        self.requests_total = 0
        self.no_backend_total = 0
        self.retried_total = 0  # requests sent to a second node after the first failed
        self.diverted_total = 0  # routing decisions that left out a node without headroom
        # The dashboards' origins, whose pages may read the balancer's own answers with
        # credentials (kept current by the LoadBalancer).
        self.dashboard_origins: frozenset[str] = frozenset()

    @property
    def timeout_s(self) -> float:
        """How long a node has to answer (a WebSocket's handshake, too)."""
        return self.upstream.timeout_s

    @property
    def algorithm(self) -> str:
        return self.balancer.name

    def switch(self, algorithm: str) -> str:
        """Use another algorithm from the next request on; returns the previous one's name."""
        previous = self.balancer.name
        self.balancer = make_balancer(algorithm)
        return previous

    def arrived(self, request: ClientRequest) -> Arrival:
        """Count a new request, stamped now."""
        self.requests_total += 1
        return Arrival(request.headers.get(TRACE_HEADER))

    # --- routing -----------------------------------------------------------------

    def pick(self, request: ClientRequest, *, exclude: Iterable[str] = ()) -> Pick | None:
        """The node for this request, or None when no healthy node is left: among those
        with headroom first, when the pool knows its nodes' pressure (headroom.py)."""
        now = time.monotonic()
        backends = self.pool.available(now, exclude=exclude)
        if not backends:
            return None
        note = None
        if self.pool.tracks_pressure:
            candidates, note = with_headroom(backends, self.pool.pressures())
            if len(candidates) < len(backends):
                self.diverted_total += 1
            backends = candidates
        balancer = self.balancer  # only what it looks at is gathered, per request
        key = sticky_key(request) if balancer.uses_key else None
        stats = self.pool.stats(now) if balancer.uses_stats else None
        pick = balancer.pick(backends, key=key, stats=stats, now=now)
        return pick if note is None else Pick(pick.backend_id, f"{note}; {pick.reason}")

    def connect_failed(
        self,
        request: ClientRequest,
        tried: list[str],
        exc: Exception,
        arrival: Arrival,
    ) -> Pick:
        """Note that the last of `tried` failed before answering (one that could not even be
        connected to is ejected); the node for the one retry the request gets (may_retry),
        traced as lb.retry and counted, or raise Unreachable."""
        node = tried[-1]
        refused = isinstance(exc, REFUSED)
        if refused:
            self.health_changed(self.pool.record_connect_failure(node, time.monotonic()))
        retry = None
        if may_retry(request.method, refused=refused, attempts=len(tried)):
            retry = self.pick(request, exclude=tried)
        if retry is None:
            raise Unreachable(f"{node}: {describe_error(exc)}")
        self.retried_total += 1
        self.emitter.emit(
            "lb.retry",
            node,
            src=self.source,
            trace=arrival.trace,
            demo=self.demo,
            ok=False,
            detail={"error": describe_error(exc), "retry_on": retry.backend_id, **where(request)},
        )
        return retry

    def health_changed(self, transition: Transition | None) -> None:
        if transition is None:
            return
        log.info("lb: %s is %s: %s", transition.backend_id, transition.to_state, transition.reason)
        self.emitter.emit(
            "lb.health",
            transition.backend_id,
            src=self.source,
            demo=self.demo,
            ok=transition.to_state not in ("unhealthy", "ejected"),
            detail={
                "reason": transition.reason,
                "from": transition.from_state,
                "to": transition.to_state,
            },
        )

    def no_backend(self, request: ClientRequest, arrival: Arrival) -> None:
        """Count and trace a request that found no healthy node; the caller answers 503."""
        self.no_backend_total += 1
        self.refuse(request, arrival, NO_HEALTHY_NODE)

    def refuse(self, request: ClientRequest, arrival: Arrival, reason: str) -> None:
        """Trace a request the balancer answers itself, sent to no node."""
        self.emitter.emit(
            "lb.reject",
            "client",
            src=self.source,
            trace=arrival.trace,
            demo=self.demo,
            ok=False,
            detail={"reason": reason, **where(request)},
        )

    def backend_headers(self, request: ClientRequest, *, drop: Iterable[str] = ()):
        """What a backend gets (forward_headers); a dashboard, the balancer's vouch too."""
        headers = forward_headers(request, drop=drop)
        return vouch(headers) if self.fronts_dashboards else headers

    def backend_host(self, request: ClientRequest) -> str:
        """A dashboard's Host: the browser's (it checks Origin and CSRF on it); else none."""
        return request.host if self.fronts_dashboards else ""

    def publish_route(
        self, request: ClientRequest, arrival: Arrival, pick: Pick, *, status: int, outcome: str
    ) -> None:
        """The request's one `lb.route` event (none for a dashboard's: frontend.DASHBOARDS)."""
        if self.fronts_dashboards:
            return
        event = make_event(
            "lb.route",
            self.source,
            pick.backend_id,
            trace=arrival.trace,
            demo=self.demo,
            ok=outcome in ("ok", "queued"),
            ms=(time.perf_counter() - arrival.started) * 1000,
            detail={"reason": pick.reason, "outcome": outcome, "status": status, **where(request)},
        )
        event["ts"] = arrival.ts
        self.emitter.publish(event)

    # --- HTTP --------------------------------------------------------------------

    async def http(self, request: Request, client: ClientConnection, arrival: Arrival) -> None:
        """Answer one HTTP request through `client`, from a node if one can be reached."""
        pick = self.pick(request)
        if pick is None:
            self.no_backend(request, arrival)
            self.error(client, request, 503, NO_HEALTHY_NODE, {"Retry-After": "1"})
            return
        tried: list[str] = []
        while True:
            node = pick.backend_id
            tried.append(node)
            self.pool.started(node)
            sent = time.perf_counter()
            try:
                upstream = await self._send(request, node)
            except CONNECT_ERRORS as exc:
                self.pool.finished(node, ok=False)
                try:
                    pick = self.connect_failed(request, tried, exc, arrival)
                except Unreachable as unreachable:
                    self._failed(request, client, arrival, pick, 502, str(unreachable))
                    return
                continue
            except TimeoutError:
                self.pool.finished(node, ok=False)
                error = f"{node} did not answer within {self.upstream.timeout_s:g} s"
                self._failed(request, client, arrival, pick, 504, error)
                return
            except UpstreamError as exc:
                self.pool.finished(node, ok=False)
                self._failed(request, client, arrival, pick, 502, describe_error(exc))
                return
            except asyncio.CancelledError:  # shutting down
                self.pool.finished(node, ok=False)
                raise
            await self._relay(request, client, upstream, arrival, pick, sent)
            return

    async def _send(self, request: Request, node: str) -> Response:
        return await self.upstream.request(
            self.pool.address(node),
            request.method,
            request.raw_path,
            self.backend_headers(request).items(),
            request.body,
            host=self.backend_host(request),
        )

    async def _relay(
        self,
        request: Request,
        client: ClientConnection,
        upstream: Response,
        arrival: Arrival,
        pick: Pick,
        sent: float,
    ) -> None:
        """Answer the client with the node's response; a failure now cannot be retried."""
        node = pick.backend_id
        headers = response_headers(
            upstream.headers, request.method, node, open_reads=self.open_reads
        ).items()
        queued, served = False, False
        try:
            length = upstream.content_length
            if request.method == "HEAD":
                queued = was_queued(upstream.headers, b"", upstream.content_type)
                client.respond(upstream.status, headers, b"", length=length)
            elif length is not None and length <= READ_WHOLE_BODY:
                body = await upstream.read()
                queued = was_queued(upstream.headers, body, upstream.content_type)
                client.respond(upstream.status, headers, body)
            else:  # streamed (no length, e.g. chunked): only the node's header can tell
                queued = was_queued(upstream.headers, b"", upstream.content_type)
                await _stream(client, upstream, headers)
            served = True
        except (BrokenResponse, TimeoutError) as exc:
            log.info("lb: %s failed mid-response: %s", node, describe_error(exc))
            self._broken(client, request)
        finally:
            upstream.release()
            status = upstream.status if served else 502
            outcome = outcome_of(status, queued)
            latency = (time.perf_counter() - sent) * 1000 if status < 500 else None
            self.pool.finished(
                node,
                ok=outcome in ("ok", "queued"),
                refused=outcome == "rejected",
                latency_ms=latency,
            )
            self.publish_route(request, arrival, pick, status=status, outcome=outcome)

    def _failed(
        self,
        request: Request,
        client: ClientConnection,
        arrival: Arrival,
        pick: Pick,
        status: int,
        error: str,
    ) -> None:
        self.publish_route(request, arrival, pick, status=status, outcome="failed")
        self.error(client, request, status, error)

    def error(
        self,
        client: ClientConnection,
        request: Request,
        status: int,
        error: str,
        extra: dict | None = None,
    ) -> None:
        """An answer the balancer makes itself, as JSON."""
        cors = own_answer_headers(request, self.dashboard_origins, open_reads=self.open_reads)
        headers = cors | JSON_TYPE | (extra or {})
        client.respond(status, headers.items(), json.dumps({"error": error}).encode())

    def _broken(self, client: ClientConnection, request: Request) -> None:
        """The node broke off its answer: a 502 if nothing was sent yet, else cut the client."""
        if client.response_started:
            client.abort()  # a truncated body must not look complete
        else:
            self.error(client, request, 502, "the node broke off its response")


async def _stream(client: ClientConnection, upstream: Response, headers) -> None:
    """Relay a large or open-ended body piece by piece."""
    client.start_response(upstream.status, headers, upstream.content_length)
    try:
        async for chunk in upstream.iter_chunks():
            await client.send(chunk)
        client.end_response()
    except ConnectionResetError:
        pass  # the client went away; nothing left to tell it
