"""Where WebSocket frames end in a byte stream the balancer relays without decoding it.

The balancer splices a WebSocket's bytes between client and node (tunnel.py): the frames
are already valid frames, so it only reads each frame's header (RFC 6455 §5.2) to know
where the frame ends, never its payload. That is all it needs to close a WebSocket itself
(on shutdown) without cutting a frame in two.
"""

import os

MAX_HEADER = 14  # 2 bytes, 8 of extended length, 4 of mask
CLOSE = 0x8
CLOSE_OPCODE = 0x80 | CLOSE  # FIN + close


class FrameEdges:
    """Follows one direction's frames: `at_edge` is True when the bytes fed so far end a
    frame (or nothing was fed), `closed` once a close frame has begun."""

    __slots__ = ("_head", "_left", "closed")

    def __init__(self) -> None:
        self._left = 0  # bytes of the current frame still to come
        self._head = b""  # the start of a header split across reads
        self.closed = False

    @property
    def at_edge(self) -> bool:
        return self._left == 0 and not self._head

    def feed(self, data: bytes) -> None:
        at, end = 0, len(data)
        while at < end:
            if self._left:
                step = min(self._left, end - at)
                self._left -= step
                at += step
                continue
            held = len(self._head)
            head = self._head + data[at : at + MAX_HEADER - held]
            size = frame_size(head)
            if size is None:  # the header goes on in the next read
                self._head = head
                return
            self._head = b""
            self._left = size - held  # counted from `at`, where this read's part began
            self.closed = self.closed or head[0] & 0x0F == CLOSE


def frame_size(head: bytes) -> int | None:
    """A frame's whole length, header and payload, from its first bytes; None if they stop
    before the header does."""
    if len(head) < 2:
        return None
    length, size = head[1] & 0x7F, 2
    if length == 126:
        size = 4
        if len(head) < size:
            return None
        length = int.from_bytes(head[2:4], "big")
    elif length == 127:
        size = 10
        if len(head) < size:
            return None
        length = int.from_bytes(head[2:10], "big")
    if head[1] & 0x80:  # masked: a client's frame
        size += 4
    return size + length if len(head) >= size else None


def close_frame(code: int, *, masked: bool) -> bytes:
    """A close frame with `code` and no reason; a client's (to a node) is masked."""
    payload = code.to_bytes(2, "big")
    if not masked:
        return bytes((CLOSE_OPCODE, len(payload))) + payload
    mask = os.urandom(4)
    hidden = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
    return bytes((CLOSE_OPCODE, 0x80 | len(payload))) + mask + hidden
