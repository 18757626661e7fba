"""A WebSocket client by hand, for what a well-behaved library will not do: stop reading
for ever, send frames that break the rules, claim any Origin."""

import asyncio
import base64
import os
import socket
import struct
from dataclasses import dataclass

OP_TEXT, OP_BINARY, OP_CLOSE = 0x1, 0x2, 0x8


@dataclass
class RawSocket:
    """An upgraded connection (or its refusal): `status` is the handshake's HTTP status."""

    status: int
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    def stop_reading(self) -> None:
        """Take nothing more from the socket: the server's frames pile up on its side."""
        self.writer.transport.pause_reading()

    def send(self, payload: bytes, opcode: int = OP_TEXT) -> None:
        self.writer.write(frame(payload, opcode))

    async def close_code(self, timeout: float = 10) -> int | None:
        """Read on to the server's close frame: its code; None if the connection ended (or
        was reset) without one, as it is for a client that read nothing for too long."""
        self.writer.transport.resume_reading()
        try:
            async with asyncio.timeout(timeout):
                while True:
                    opcode, payload = await read_frame(self.reader)
                    if opcode == OP_CLOSE:
                        return struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
        except (asyncio.IncompleteReadError, ConnectionError):
            return None

    def close(self) -> None:
        self.writer.transport.abort()


def frame(payload: bytes, opcode: int = OP_TEXT) -> bytes:
    """One final client frame, masked as RFC 6455 requires of clients."""
    mask = os.urandom(4)
    size = len(payload)
    if size < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | size)
    elif size < 1 << 16:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, size)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, size)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + mask + masked


async def read_frame(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """One server frame (unmasked): its opcode and payload."""
    first, second = await reader.readexactly(2)
    size = second & 0x7F
    if size == 126:
        size = struct.unpack("!H", await reader.readexactly(2))[0]
    elif size == 127:
        size = struct.unpack("!Q", await reader.readexactly(8))[0]
    return first & 0x0F, await reader.readexactly(size)


async def connect(
    host: str, port: int, path: str, *, origin: str | None, small_buffer: bool = False
) -> RawSocket:
    """Upgrade to a WebSocket at `path`; `small_buffer` shrinks this end's receive buffer,
    so that a client that stops reading holds little in its own kernel."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if small_buffer:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (host, port))
    reader, writer = await asyncio.open_connection(sock=sock, limit=1 << 20)
    writer.write(_handshake(host, port, path, origin))
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    return RawSocket(int(head.split(b" ", 2)[1]), reader, writer)


def _handshake(host: str, port: int, path: str, origin: str | None) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: {host}:{port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
    ]
    if origin is not None:
        lines.append(f"Origin: {origin}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()
