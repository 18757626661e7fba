"""The balancer's HTTP client to the nodes: pooled keep-alive connections, parsed by httptools.

Why not aiohttp's client (the health checks and the WebSocket path still use it): on the
lab's 2-core machine it cost about 400 µs of CPU per proxied request, close to half the
balancer's whole cost, for features a reverse proxy does not use (cookies, redirects,
tracing, URL handling). This client does only what the proxy needs:

- one request at a time per connection, no pipelining; idle connections are kept per node;
- answers with Content-Length, chunked or delimited by the close, and HEAD answers; 1xx
  answers are skipped (the balancer answers "Expect: 100-continue" itself);
- one deadline for the whole exchange, connecting included;
- the parsing is httptools' (llhttp, the parser of Node.js and uvicorn); only the request
  line and headers are written here.
"""

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Iterable

import httptools
from multidict import CIMultiDict, CIMultiDictProxy

MAX_IDLE_PER_NODE = 64  # more idle connections than that to one node are closed
PAUSE_ABOVE = 256 * 1024  # unread body bytes that make the node's connection pause
RESUME_BELOW = 64 * 1024
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})  # they say Content-Length even when empty


class UpstreamError(Exception):
    """The node could not be asked, or its answer could not be read."""


class ConnectFailed(UpstreamError):
    """No connection could be opened (refused, unreachable): the node is probably down."""


class Disconnected(UpstreamError):
    """The connection closed or was reset before the answer began (a pooled connection the
    node had closed, or a node killed mid-request): another node may be asked instead."""


class BrokenResponse(UpstreamError):
    """The answer was cut off or could not be parsed after it began."""


class Response:
    """A node's answer: status and headers at once, the body as it arrives."""

    __slots__ = (
        "_chunks",
        "_connection",
        "_done",
        "_error",
        "_waiter",
        "buffered",
        "headers",
        "status",
    )

    def __init__(self, status: int, headers: CIMultiDictProxy[str], connection: "_Connection"):
        self.status = status
        self.headers = headers
        self.buffered = 0  # body bytes received and not yet read
        self._connection = connection
        self._chunks: deque[bytes] = deque()
        self._done = False
        self._error: BaseException | None = None
        self._waiter: asyncio.Future | None = None

    @property
    def content_length(self) -> int | None:
        value = self.headers.get("Content-Length")
        return int(value) if value is not None and value.isdigit() else None

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "").partition(";")[0].strip().lower()

    async def read(self) -> bytes:
        """The whole body."""
        if not self._done:
            return b"".join([chunk async for chunk in self.iter_chunks()])
        if self._error is not None:
            raise self._error
        self.buffered = 0
        body = b"".join(self._chunks)
        self._chunks.clear()
        return body

    async def iter_chunks(self) -> AsyncIterator[bytes]:
        """The body piece by piece, as the node sends it."""
        while True:
            if self._chunks:
                chunk = self._chunks.popleft()
                self.buffered -= len(chunk)
                if self.buffered < RESUME_BELOW and not self._done:
                    self._connection.resume_reading()
                yield chunk
            elif self._error is not None:
                raise self._error
            elif self._done:
                return
            else:
                self._waiter = asyncio.get_running_loop().create_future()
                await self._waiter

    def release(self) -> None:
        """Done with this answer: a connection still receiving an unread body is closed."""
        if not self._done and self._error is None:
            self._connection.abort()

    # --- fed by the connection ---------------------------------------------------------

    def _feed(self, chunk: bytes) -> None:
        self._chunks.append(chunk)
        self.buffered += len(chunk)
        if self.buffered > PAUSE_ABOVE:
            self._connection.pause_reading()
        self._wake()

    def _finish(self) -> None:
        self._done = True
        self._wake()

    def _fail(self, error: BaseException) -> None:
        self._error = error
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


class _Connection(asyncio.Protocol):
    """One keep-alive connection to a node, carrying one exchange at a time."""

    def __init__(self, idle: list["_Connection"]) -> None:
        self._idle = idle  # its node's idle connections, which it rejoins after each answer
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._answer: asyncio.Future | None = None  # resolved with the Response at its headers
        self._response: Response | None = None
        self._deadline: asyncio.TimerHandle | None = None
        self._head_only = False
        self._informational = False
        self._paused = False
        self._raw_headers: list[tuple[str, str]] = []

    def send(self, request: bytes, head_only: bool, timeout_s: float) -> asyncio.Future:
        """Write a request; the future is resolved with the answer when its headers are in."""
        loop = asyncio.get_running_loop()
        self._answer = loop.create_future()
        self._head_only = head_only
        self._deadline = loop.call_later(timeout_s, self._timed_out)
        self._transport.write(request)
        return self._answer

    def pause_reading(self) -> None:
        if not self._paused and self._transport is not None:
            self._paused = True
            self._transport.pause_reading()

    def resume_reading(self) -> None:
        if self._paused and self._transport is not None:
            self._paused = False
            self._transport.resume_reading()

    def abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()

    # --- asyncio's callbacks -------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._end_exchange(BrokenResponse(f"the node's answer could not be parsed: {exc}"))
            self.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        if self in self._idle:
            self._idle.remove(self)
        if self._answer is None:
            return
        if self._response is not None and exc is None and self._ends_at_close():
            self._message_done()  # the close marks the end of this body
            return
        reason = f"{type(exc).__name__}: {exc}" if exc else "the node closed the connection"
        if self._response is None:
            self._end_exchange(Disconnected(f"{reason} before answering"))
        else:
            self._end_exchange(BrokenResponse(f"{reason} in the middle of its answer"))

    # --- httptools' callbacks ------------------------------------------------------------

    def on_message_begin(self) -> None:
        self._raw_headers = []

    def on_header(self, name: bytes, value: bytes) -> None:
        self._raw_headers.append(
            (name.decode("utf-8", "surrogateescape"), value.decode("utf-8", "surrogateescape"))
        )

    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        if status < 200:  # "100 Continue" and the like come before the real answer
            self._informational = True
            return
        if self._answer is None or self._answer.done():
            return  # an answer nobody asked for: dropped when the message ends
        headers = CIMultiDictProxy(CIMultiDict(self._raw_headers))
        self._response = Response(status, headers, self)
        self._answer.set_result(self._response)
        if self._head_only:  # llhttp cannot know that a HEAD answer has no body
            self._message_done()
            self._parser = httptools.HttpResponseParser(self)

    def on_body(self, body: bytes) -> None:
        if self._response is not None:
            self._response._feed(body)

    def on_message_complete(self) -> None:
        if self._informational:
            self._informational = False
            return
        if self._response is not None:
            self._message_done()

    # --- the exchange's end ------------------------------------------------------------

    def _message_done(self) -> None:
        """The answer is complete: hand over its end, and rejoin the idle connections."""
        response = self._response
        reusable = self._transport is not None and self._parser.should_keep_alive()
        self._reset()
        self.resume_reading()  # the whole body is in the Response: nothing more to hold back
        response._finish()
        if reusable and len(self._idle) < MAX_IDLE_PER_NODE:
            self._idle.append(self)
        elif self._transport is not None:
            self._transport.close()

    def _end_exchange(self, error: BaseException) -> None:
        """The exchange failed: tell whoever waits, at the headers or in the body."""
        answer, response = self._answer, self._response
        self._reset()
        if answer is not None and not answer.done():
            answer.set_exception(error)
        elif response is not None:
            response._fail(error)

    def _reset(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self._answer = self._response = self._deadline = None

    def _ends_at_close(self) -> bool:
        """Whether the answer in progress has neither a length nor chunks: the close ends it."""
        headers = self._response.headers
        chunked = "chunked" in headers.get("Transfer-Encoding", "").lower()
        return "Content-Length" not in headers and not chunked

    def _timed_out(self) -> None:
        self._deadline = None
        self._end_exchange(TimeoutError())
        self.abort()


class UpstreamPool:
    """Keep-alive connections to each node, reused one exchange at a time."""

    def __init__(self, *, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._idle: dict[str, list[_Connection]] = {}

    async def request(
        self,
        address: str,
        method: str,
        target: str,
        headers: Iterable[tuple[str, str]],
        body: bytes = b"",
        host: str = "",
    ) -> Response:
        """Send one request to the node at `address` ("host:port"); its answer at its headers.
        Its Host header is `host`, else the address.

        Raises ConnectFailed, Disconnected, BrokenResponse or TimeoutError.
        """
        idle = self._idle.setdefault(address, [])
        connection = idle.pop() if idle else await self._connect(address, idle)
        request = _request_bytes(method, target, host or address, headers, body)
        return await connection.send(request, method == "HEAD", self.timeout_s)

    async def _connect(self, address: str, idle: list[_Connection]) -> _Connection:
        host, _, port = address.rpartition(":")
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.timeout_s):
                _, connection = await loop.create_connection(lambda: _Connection(idle), host, port)
        except OSError as exc:
            raise ConnectFailed(f"cannot connect to {address}: {exc.strerror or exc}") from None
        return connection

    def idle_connections(self, address: str) -> int:
        return len(self._idle.get(address, ()))

    def close(self) -> None:
        """Close every idle connection (the ones in use close when their exchange ends)."""
        for idle in self._idle.values():
            for connection in list(idle):
                connection.abort()
        self._idle.clear()


def _request_bytes(
    method: str, target: str, host: str, headers: Iterable[tuple[str, str]], body: bytes
) -> bytes:
    """The request as it goes on the wire, with its Content-Length."""
    length = [("Content-Length", str(len(body)))] if body or method in _BODY_METHODS else []
    return request_head(method, target, host, [*headers, *length]) + body


def request_head(method: str, target: str, host: str, headers: Iterable[tuple[str, str]]) -> bytes:
    """A request's head as it goes on the wire; header text goes back to the bytes it was
    read from (the balancer decodes it as UTF-8 with surrogate escapes)."""
    lines = [f"{method} {target} HTTP/1.1\r\nHost: {host}\r\n"]
    lines.extend(f"{name}: {value}\r\n" for name, value in headers)
    lines.append("\r\n")
    return "".join(lines).encode("utf-8", "surrogateescape")
