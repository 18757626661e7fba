"""The writing half of the balancer's client connection: one answer at a time, framed by
Content-Length, in chunks, or (HTTP/1.0) by closing the connection."""

import asyncio
from collections.abc import Iterable
from http import HTTPStatus

_REASONS = {status.value: status.phrase for status in HTTPStatus}
_NO_BODY_STATUSES = frozenset({204, 304})


class Answering:
    """Writes answers to `_transport`; the connection sets the request's method and version
    (and whether it keeps the connection) before each answer, and `_drained` while the
    client's unread answers are over the transport's high-water mark."""

    _transport: asyncio.Transport | None
    _drained: asyncio.Future | None

    def __init__(self) -> None:
        self._method = ""
        self._version = "1.1"
        self._keep_alive = True
        self._chunked = False
        self.response_started = False

    @property
    def unsent_bytes(self) -> int:
        """Answer bytes written but not yet taken by the client's socket."""
        return self._transport.get_write_buffer_size() if self._transport else 0

    @property
    def waiting_for_client(self) -> bool:
        """Whether the unsent answers are over the high-water mark."""
        return self._drained is not None

    def respond(
        self,
        status: int,
        headers: Iterable[tuple[str, str]],
        body: bytes,
        *,
        length: int | None = None,
    ) -> None:
        """A whole answer; `length` is the Content-Length a HEAD answer announces."""
        if self._transport is None:
            return
        head = self._head(status, headers)
        if _has_no_body(status):
            self._transport.write(head + b"\r\n")
        elif self._method == "HEAD":
            announced = b"" if length is None else b"Content-Length: %d\r\n" % length
            self._transport.write(head + announced + b"\r\n")
        else:
            self._transport.write(head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.response_started = True

    def start_response(
        self, status: int, headers: Iterable[tuple[str, str]], length: int | None
    ) -> None:
        """The head of an answer whose body follows through `send`; without a length it is
        sent in chunks, or to an HTTP/1.0 client until the connection closes. A 1xx, 204 or
        304 has no body, so no framing either: a last chunk after it would be read as the
        start of the connection's next answer."""
        if _has_no_body(status):
            framing = b""
        elif length is not None:
            framing = b"Content-Length: %d\r\n" % length
        elif self._version == "1.1":
            framing, self._chunked = b"Transfer-Encoding: chunked\r\n", True
        else:
            framing, self._keep_alive = b"", False
        if self._transport is not None:
            self._transport.write(self._head(status, headers) + framing + b"\r\n")
        self.response_started = True

    async def send(self, chunk: bytes) -> None:
        """Part of the body; waits while the client has not taken what was sent before."""
        if self._transport is None:
            raise ConnectionResetError("the client went away")
        if chunk:
            self._transport.write(b"%x\r\n%b\r\n" % (len(chunk), chunk) if self._chunked else chunk)
        if self._drained is not None:
            await self._drained

    def end_response(self) -> None:
        if self._chunked and self._transport is not None:
            self._transport.write(b"0\r\n\r\n")

    def abort(self) -> None:
        """Cut the client off: a truncated body must not look complete."""
        if self._transport is not None:
            self._transport.abort()

    def _head(self, status: int, headers: Iterable[tuple[str, str]]) -> bytes:
        lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}\r\n"]
        lines.extend(f"{name}: {value}\r\n" for name, value in headers)
        if not self._keep_alive:
            lines.append("Connection: close\r\n")
        elif self._version == "1.0":
            lines.append("Connection: keep-alive\r\n")
        return "".join(lines).encode("utf-8", "surrogateescape")


def _has_no_body(status: int) -> bool:
    """HTTP's answers that never have a body (RFC 9110, 6.4.1)."""
    return status in _NO_BODY_STATUSES or status < 200
