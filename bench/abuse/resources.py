"""Bounded resources: chat rooms (a cap, refused with 4009 past it), queued jobs (per user,
per address and in all), and trace amplification (free text cut in every event; Redis
under its maxmemory, checked by the runner)."""

import asyncio
import json

from bench.abuse.rawsocket import OP_CLOSE, connect, read_frame
from bench.abuse.target import Outcome, Target, first_frame_of, session

ROOMS_FULL = 4009


async def run(target: Target, seconds: float) -> list[Outcome]:
    rooms = Outcome("joining new rooms past the cap is refused 4009")
    jobs = Outcome("enqueueing past the job caps gets an error frame")
    await _fill_rooms(target, rooms)
    await _flood_jobs(target, jobs, seconds)
    return [rooms, jobs]


async def _fill_rooms(target: Target, outcome: Outcome) -> None:
    """Join fresh room names until refused: refused within the cap is the outcome."""
    for n in range(150 if target.quick else 400):
        raw = await connect(target.host, target.lb_port, f"/ws/chat/aaa{n:04}/?user=mallory",
                            origin=None)  # fmt: skip
        try:
            code = await _close_code_soon(raw)
        finally:
            raw.close()
        if code == ROOMS_FULL:
            outcome.count(True)
            if outcome.refused >= 5:
                return
    outcome.count(False, "every new room was created")


async def _close_code_soon(raw) -> int | None:
    """The close code if the socket is closed at once (after its error frame); None if it
    was welcomed."""
    if raw.status != 101:
        return None
    try:
        async with asyncio.timeout(5):
            while True:
                opcode, payload = await read_frame(raw.reader)
                if opcode == OP_CLOSE:
                    return int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None
                if b'"welcome"' in payload:
                    return None
    except (TimeoutError, ConnectionError, EOFError):
        return None


async def _flood_jobs(target: Target, outcome: Outcome, seconds: float) -> None:
    """Ask for 20 jobs at a time (the most one request may) until refused, on a few
    sockets: the caps hold, each refusal an error frame."""
    url = target.ws(target.dashboard, "/ws/lab/")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + min(seconds, 10)
    async with session() as http, http.ws_connect(url, origin=target.dashboard) as ws:
        await first_frame_of(ws, "welcome", 10)
        while loop.time() < deadline:
            await ws.send_str(json.dumps({"type": "queue.enqueue", "count": 20}))
            answer = await _answer(ws)
            if answer.get("type") == "error":
                outcome.count(True)
                if outcome.refused >= 5:
                    return
            await asyncio.sleep(0.06)
    outcome.count(False, "no enqueue was refused")


async def _answer(ws) -> dict:
    while True:
        message = await ws.receive(timeout=10)
        frame = json.loads(message.data) if isinstance(message.data, str) else {}
        if frame.get("type") in ("ack", "error") or not isinstance(message.data, str):
            return frame
