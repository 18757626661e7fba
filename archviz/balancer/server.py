"""The balancer's HTTP server: one asyncio protocol per client connection, parsed by httptools.

Why not aiohttp's server for every request: on the lab's 2-core machine it cost about 300 µs
of CPU per request, a third of the balancer's whole cost, and the issue's budget is 1.5 ms of
added latency. An upgrade request goes to the server's upgrade handler (websocket.py), which
answers it or turns the connection into a tunnel to a node (upgrade.py).

- Requests on one connection are answered in order, one at a time.
- A malformed request gets 400, a request line over 8 KiB 414, a header over 8 KiB or more
  than 128 headers 431, a body over 1 MiB 413; each such answer closes its connection and
  no other connection notices.
- "Expect: 100-continue" is answered here: the node never sees it.
- A connection is closed when it has sent no complete request for `idle_timeout_s` since
  it opened or had its last answer: an idle keep-alive, or a client that stalls mid-request.
- Flow control, so that one client cannot make the balancer hold memory without limit: a
  connection stops being read while PAUSE_READING_AT requests wait on it, while the request
  bodies it holds pass MAX_HELD_BODY_BYTES, or while its answers wait unread past
  WRITE_HIGH_WATER (then the next request is not answered either). A client that takes none
  of its answers for `idle_timeout_s` is cut off.
- Past the server's `max_connections` a new connection is answered 503 and closed.
"""

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import TYPE_CHECKING

import httptools
from multidict import CIMultiDict, CIMultiDictProxy

from archviz.balancer.answer import Answering
from archviz.balancer.headers import NO_NODE, NODE_HEADER
from archviz.balancer.request import (
    MAX_BODY_BYTES,
    MAX_HEAD_BYTES,
    MAX_HEADER_FIELD,
    MAX_HEADERS,
    MAX_REQUEST_LINE,
    BadRequest,
    Request,
)
from archviz.balancer.upgrade import Upgrading

log = logging.getLogger(__name__)

KEEPALIVE_TIMEOUT_S = 15.0
LINGER_S = 2.0  # how long a refused client's last bytes are read and dropped
LINGER_MAX_BYTES = 256 * 1024  # past this many dropped bytes a refused client is cut off
HEAD_END = b"\r\n\r\n"  # llhttp takes no bare-LF heads, so this alone ends one
PAUSE_READING_AT = 4  # requests waiting on one connection (pipelined) before it stops reading
MAX_HELD_BODY_BYTES = MAX_BODY_BYTES  # bodies of one connection's unanswered requests
WRITE_HIGH_WATER = 64 * 1024  # unsent answer bytes on one connection before it stops reading


Handler = Callable[[Request, "ClientConnection"], Awaitable[None]]

if TYPE_CHECKING:
    from archviz.balancer.listener import Server


class ClientConnection(Answering, Upgrading, asyncio.Protocol):
    """One client's connection: parses its requests, hands each to the handler in turn, and
    writes the answers the handler gives through `respond` or `start_response`/`send`/`end`
    (answer.py); an upgrade request goes to the upgrade handler (upgrade.py)."""

    def __init__(self, server: "Server") -> None:
        self._server = server
        self._transport: asyncio.Transport | None = None
        self._remote: str | None = None
        self._parser = httptools.HttpRequestParser(self)
        self._waiting: deque[Request] = deque()
        self._worker: asyncio.Task | None = None
        self._idle: asyncio.TimerHandle | None = None
        self._drained: asyncio.Future | None = None
        self._paused_reading = False
        self._refusal: BadRequest | None = None
        self._upgrade: tuple[Request, bytes] | None = None  # and the bytes after its head
        self._head_bytes: int | None = None  # the unfinished head's bytes so far
        self._head_tail = b""  # its last bytes, for an end split across reads
        self._lingered = 0  # bytes read and dropped after a refusal
        self._url: list[bytes] = []
        self._url_length = 0
        self._headers: list[tuple[str, str]] = []
        self._body: list[bytes] = []
        self._body_length = 0
        self._held_bytes = 0  # bodies of the requests waiting or being answered
        super().__init__()  # the answer in progress

    @property
    def busy(self) -> bool:
        return self._worker is not None

    @property
    def reading_paused(self) -> bool:
        return self._paused_reading

    @property
    def held_body_bytes(self) -> int:
        """Request body bytes this connection holds: unanswered requests' and a partial one."""
        return self._held_bytes + self._body_length

    # --- asyncio's callbacks -------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        peer = transport.get_extra_info("peername")
        self._remote = peer[0] if isinstance(peer, tuple) else None
        if self._server.full():
            self._server.refused_connections += 1
            self._refuse(BadRequest(HTTPStatus.SERVICE_UNAVAILABLE, "too many connections"))
            return
        transport.set_write_buffer_limits(high=WRITE_HIGH_WATER)
        self._server.connections.add(self)
        self._start_idle_timer()

    def data_received(self, data: bytes) -> None:
        if self._refusal is not None:
            self._drop_lingering(len(data))
            return
        if self._upgrade is not None:
            return  # reading is paused: what follows an upgrade is the tunnel's
        if self._head_bytes is not None and not self._head_within_cap(data):
            self._refuse(BadRequest(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "head"))
            return
        try:
            self._parser.feed_data(data)
            if self._head_bytes is not None and not self._head_began_within_cap(data):
                self._refuse(BadRequest(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "head"))
        except httptools.HttpParserUpgrade as upgrade:
            self._upgrade = (self._parsed_request(b"", False), data[upgrade.args[0] :])
            self._transport.pause_reading()
            self._cancel_idle_timer()
            if not self.busy:
                self._worker = asyncio.get_running_loop().create_task(self._serve())
        except httptools.HttpParserCallbackError as exc:
            refused = exc.__context__
            if not isinstance(refused, BadRequest):
                raise
            self._refuse(refused)
        except httptools.HttpParserError as exc:
            self._refuse(BadRequest(HTTPStatus.BAD_REQUEST, str(exc)))

    def _head_within_cap(self, data: bytes) -> bool:
        """Count this read's bytes up to the end of the unfinished head, not the body after
        it: one read may carry a head's last line and most of a 1 MiB body."""
        seen = self._head_tail + data
        end = seen.find(HEAD_END)
        in_head = len(data) if end < 0 else max(0, end + len(HEAD_END) - len(self._head_tail))
        self._head_bytes += in_head
        return self._head_bytes <= MAX_HEAD_BYTES

    def _head_began_within_cap(self, data: bytes) -> bool:
        """After a read that left a head unfinished: count it if it began in this read (its
        bytes follow the read's last blank line, or are the whole read), and keep the
        read's tail for an end split across reads."""
        self._head_tail = data[-(len(HEAD_END) - 1) :]
        if self._head_bytes == 0:
            end = data.rfind(HEAD_END)
            self._head_bytes = len(data) if end < 0 else len(data) - end - len(HEAD_END)
        return self._head_bytes <= MAX_HEAD_BYTES

    def _drop_lingering(self, size: int) -> None:
        """A refused client may send on for the linger; past LINGER_MAX_BYTES it is cut off
        (its answer may be lost then, but it has stopped listening to it anyway)."""
        self._lingered += size
        if self._lingered > LINGER_MAX_BYTES:
            self.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        self._cancel_idle_timer()
        self._server.connections.discard(self)
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)

    def pause_writing(self) -> None:
        self._drained = asyncio.get_running_loop().create_future()
        self._pause_reading()  # no more requests while the client does not take its answers

    def resume_writing(self) -> None:
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)
        self._drained = None
        self._resume_reading_if_room()

    # --- httptools' callbacks ------------------------------------------------------------

    def on_message_begin(self) -> None:
        self._head_bytes, self._head_tail = 0, b""
        self._url, self._url_length = [], 0
        self._headers, self._body, self._body_length = [], [], 0

    def on_url(self, url: bytes) -> None:
        self._url.append(url)
        self._url_length += len(url)
        if self._url_length > MAX_REQUEST_LINE:
            raise BadRequest(HTTPStatus.REQUEST_URI_TOO_LONG, "request line")

    def on_header(self, name: bytes, value: bytes) -> None:
        if len(name) + len(value) > MAX_HEADER_FIELD:
            raise BadRequest(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "a header")
        if len(self._headers) >= MAX_HEADERS:
            raise BadRequest(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "too many headers")
        self._headers.append(
            (name.decode("utf-8", "surrogateescape"), value.decode("utf-8", "surrogateescape"))
        )

    def on_headers_complete(self) -> None:
        self._head_bytes = None
        if self._parser.should_upgrade():
            return
        if self._parser.get_http_version() == "1.1" and _expects_continue(self._headers):
            self._transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def on_body(self, body: bytes) -> None:
        self._body_length += len(body)
        if self._body_length > MAX_BODY_BYTES:
            raise BadRequest(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "request body")
        self._body.append(body)
        if self._bodies_over_cap():
            self._pause_reading()

    def on_message_complete(self) -> None:
        if self._parser.should_upgrade():
            return  # the upgrade is served once the parser stops (data_received)
        self._cancel_idle_timer()
        request = self._parsed_request(b"".join(self._body), self._parser.should_keep_alive())
        self._body, self._held_bytes = [], self._held_bytes + self._body_length
        self._body_length = 0
        self._waiting.append(request)
        if len(self._waiting) >= PAUSE_READING_AT:
            self._pause_reading()
        if not self.busy:
            self._worker = asyncio.get_running_loop().create_task(self._serve())

    def _parsed_request(self, body: bytes, keep_alive: bool) -> Request:
        parser = self._parser
        return Request(
            parser.get_method().decode("ascii", "replace"),
            b"".join(self._url).decode("utf-8", "surrogateescape"),
            parser.get_http_version(),
            CIMultiDictProxy(CIMultiDict(self._headers)),
            body,
            self._remote,
            keep_alive,
        )

    # --- the connection's life -------------------------------------------------------------

    async def _serve(self) -> None:
        """Answer the waiting requests in order; then serve an upgrade, refuse, or wait idle."""
        while self._waiting and self._transport is not None:
            if self._drained is not None and not await self._client_took_its_answers():
                break
            request = self._waiting.popleft()
            self._resume_reading_if_room()
            self._method, self._version = request.method, request.version
            self._keep_alive = request.keep_alive
            self.response_started = self._chunked = False
            await self._answer(request)
            self._held_bytes -= len(request.body)
            self._resume_reading_if_room()
            if not self._keep_alive and self._transport is not None:
                self._transport.close()
                break
        if self._upgrade is not None and self._refusal is None:
            await self._serve_upgrade()
        self._worker = None
        if self._refusal is not None:
            self._write_refusal()
        elif self._upgrade is None:
            self._start_idle_timer()

    async def _answer(self, request: Request) -> None:
        try:
            await self._server.handler(request, self)
        except Exception:  # a bug must cost one request, not the connection's others
            log.exception("lb: failed to answer %s %s", request.method, request.raw_path)
            if self.response_started:
                self.abort()
            else:
                error = b"500 Internal Server Error\n"
                self.respond(500, [(NODE_HEADER, NO_NODE)], error)

    async def _client_took_its_answers(self) -> bool:
        """Wait until the client reads what it was sent; cut it off if it takes none of it
        for the idle timeout (its unread answers would otherwise stay in memory for ever)."""
        _, pending = await asyncio.wait([self._drained], timeout=self._server.idle_timeout_s)
        if pending:
            log.info("lb: cut off %s, which took none of its answers", self._remote)
            self.abort()
        return not pending and self._transport is not None

    def _refuse(self, refusal: BadRequest) -> None:
        """Answer a bad request once the ones before it are answered, then close."""
        self._refusal = refusal
        self._pause_reading()
        if not self.busy:
            self._write_refusal()

    def _write_refusal(self) -> None:
        """Answer, then read and drop what the client still sends for a moment before closing:
        closing with unread data would reset the connection and lose the answer."""
        status = self._refusal.status
        # Over-cap connections come in floods: the listener logs their episode once.
        level = logging.DEBUG if status == HTTPStatus.SERVICE_UNAVAILABLE else logging.INFO
        log.log(level, "lb: answered %d to %s (%s)", status, self._remote, self._refusal)
        self._method, self._keep_alive = "GET", False
        text = f"{status.value} {status.phrase}: {self._refusal}\n".encode()
        headers = [(NODE_HEADER, NO_NODE), ("Content-Type", "text/plain; charset=utf-8")]
        if status == HTTPStatus.SERVICE_UNAVAILABLE:
            headers.append(("Retry-After", "1"))
        self.respond(status.value, headers, text)
        if self._transport is not None:
            self._transport.write_eof()
            self._resume_reading()
            asyncio.get_running_loop().call_later(LINGER_S, self.abort)

    def _pause_reading(self) -> None:
        if not self._paused_reading and self._transport is not None:
            self._paused_reading = True
            self._transport.pause_reading()

    def _resume_reading(self) -> None:
        if self._paused_reading and self._transport is not None:
            self._paused_reading = False
            self._transport.resume_reading()

    def _resume_reading_if_room(self) -> None:
        """Read again once no limit holds the connection back (a refusal resumes itself)."""
        if (
            self._paused_reading
            and self._refusal is None
            and self._drained is None
            and len(self._waiting) < PAUSE_READING_AT
            and not self._bodies_over_cap()
        ):
            self._resume_reading()

    def _bodies_over_cap(self) -> bool:
        """Over the cap while some request is unanswered: reading waits for its answer. With
        none, the request being read is limited by MAX_BODY_BYTES alone."""
        return bool(self._held_bytes) and self.held_body_bytes > MAX_HELD_BODY_BYTES

    def _start_idle_timer(self) -> None:
        if self._transport is not None:
            loop = asyncio.get_running_loop()
            self._idle = loop.call_later(self._server.idle_timeout_s, self._close_idle)

    def _cancel_idle_timer(self) -> None:
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None

    def _close_idle(self) -> None:
        """Close; abort if answers wait unread, since close would wait for them for ever."""
        if self._transport is not None and self._transport.get_write_buffer_size():
            self._transport.abort()
        elif self._transport is not None:
            self._transport.close()

    def close_if_idle(self) -> None:
        if not self.busy and self._transport is not None:
            self._transport.close()


def _expects_continue(headers: list[tuple[str, str]]) -> bool:
    return any(n.lower() == "expect" and v.lower() == "100-continue" for n, v in headers)
