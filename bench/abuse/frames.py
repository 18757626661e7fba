"""Malformed and oversized frames on the lab socket and on a chat socket (through the
balancer): each malformed one answered with an error frame, each oversized one closed
with 1009, and the socket (or the next one) served on."""

import asyncio

import aiohttp

from bench.abuse.target import Outcome, Target, first_frame_of, session

ROOM = "frames"
COMMON = ["{not json", "[1, 2, 3]", '"just a string"', '{"type": "no-such-request"}']
LAB_MALFORMED = [
    *COMMON,
    '{"type": "ping"}',
    '{"type": "ping", "node": 12}',
    '{"type": "ping", "node": "../../etc"}',
    '{"type": "queue.enqueue", "count": 1e18}',
]
CHAT_MALFORMED = [
    *COMMON,
    '{"type": "send"}',
    '{"type": "send", "text": "   "}',
    '{"type": "send", "text": "' + "t" * 5000 + '"}',
    '{"type": "ack", "received": 1e18}',
    '{"type": "ack", "received": 1000000000000}',
]
OVERSIZED = "x" * (100 * 1024)  # the cap is 64 KiB


async def run(target: Target, seconds: float) -> list[Outcome]:
    lab = Outcome("lab socket: malformed frames get an error frame")
    chat = Outcome("chat socket: malformed frames get an error frame")
    big = Outcome("oversized frames (100 KiB) are closed with 1009")
    deadline = asyncio.get_running_loop().time() + seconds
    rounds = 1 if target.quick else 10**9
    async with session() as http:
        for _ in range(rounds):
            lab_url, chat_url = target.ws(target.dashboard, "/ws/lab/"), _chat_url(target)
            await _malformed(http, lab_url, target.dashboard, LAB_MALFORMED, lab)
            await _malformed(http, chat_url, None, CHAT_MALFORMED, chat)
            await _oversized(http, lab_url, target.dashboard, big)
            await _oversized(http, chat_url, None, big)
            if asyncio.get_running_loop().time() > deadline:
                break
    return [lab, chat, big]


def _chat_url(target: Target) -> str:
    return target.ws(target.lb, f"/ws/chat/{ROOM}/?user=mallory")


async def _malformed(http, url: str, origin, frames: list[str], outcome: Outcome) -> None:
    async with http.ws_connect(url, origin=origin, max_msg_size=0) as ws:
        await first_frame_of(ws, "welcome", 10)
        for raw in frames:
            await ws.send_str(raw)
            answer = await first_frame_of(ws, "error", 5)
            outcome.count(answer is not None, answer)
            await asyncio.sleep(0.06)  # under the flood limits: this attack is the frames
        await ws.send_bytes(b"\x00\xff" * 64)
        answer = await first_frame_of(ws, "error", 5)
        outcome.count(answer is not None, answer)


async def _oversized(http, url: str, origin, outcome: Outcome) -> None:
    async with http.ws_connect(url, origin=origin, max_msg_size=0) as ws:
        await first_frame_of(ws, "welcome", 10)
        await ws.send_str(OVERSIZED)
        async for message in ws:
            if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
                break
        outcome.count(ws.close_code == 1009, f"close {ws.close_code}")
