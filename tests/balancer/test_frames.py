"""Where frames end in a relayed WebSocket stream (frames.py), however the reads split it."""

import os

import pytest

from archviz.balancer.frames import FrameEdges, close_frame, frame_size


def _frame(payload: bytes, *, opcode: int = 0x2, masked: bool = False) -> bytes:
    """One frame as RFC 6455 §5.2 lays it out (7-, 16- and 64-bit lengths)."""
    mask_bit = 0x80 if masked else 0
    if len(payload) < 126:
        head = bytes((0x80 | opcode, mask_bit | len(payload)))
    elif len(payload) < 1 << 16:
        head = bytes((0x80 | opcode, mask_bit | 126)) + len(payload).to_bytes(2, "big")
    else:
        head = bytes((0x80 | opcode, mask_bit | 127)) + len(payload).to_bytes(8, "big")
    if not masked:
        return head + payload
    mask = os.urandom(4)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


FRAMES = [
    _frame(b""),
    _frame(b"x" * 125, opcode=0x1),
    _frame(b"y" * 126),
    _frame(b"z" * 70_000),
    _frame(b"masked", masked=True),
    _frame(b"m" * 300, masked=True),
]
STREAM = b"".join(FRAMES)
EDGES = {sum(len(f) for f in FRAMES[: n + 1]) for n in range(len(FRAMES))}


def test_each_frames_size_is_read_from_its_header_alone() -> None:
    assert [frame_size(f[:14]) for f in FRAMES] == [len(f) for f in FRAMES]
    assert frame_size(FRAMES[3][:9]) is None  # the 64-bit length is not all there yet


@pytest.mark.parametrize("read", [1, 2, 3, 7, 13, 14, 100, 4096, len(STREAM)])
def test_the_edges_are_found_whatever_the_reads(read: int) -> None:
    """Fed in reads of `read` bytes: at an edge exactly when a read ends a frame."""
    edges, seen = FrameEdges(), set()
    for start in range(0, len(STREAM), read):
        edges.feed(STREAM[start : start + read])
        if edges.at_edge:
            seen.add(min(start + read, len(STREAM)))
    assert seen == {end for end in EDGES if end % read == 0 or end == len(STREAM)}


def test_a_close_frame_is_noticed_once_its_header_is_read() -> None:
    edges = FrameEdges()
    edges.feed(FRAMES[1])
    assert not edges.closed
    code = close_frame(1001, masked=True)
    edges.feed(code[:1])
    assert not edges.closed and not edges.at_edge
    edges.feed(code[1:])
    assert edges.closed and edges.at_edge


@pytest.mark.parametrize("masked", [False, True])
def test_the_balancers_close_frame_carries_its_code(masked: bool) -> None:
    frame = close_frame(1001, masked=masked)
    assert frame[0] == 0x88 and frame_size(frame) == len(frame)
    payload = frame[2:]
    if masked:
        mask, payload = frame[2:6], bytes(b ^ frame[2 + i % 4] for i, b in enumerate(frame[6:]))
        assert frame[1] == 0x82 and len(mask) == 4
    assert int.from_bytes(payload, "big") == 1001
