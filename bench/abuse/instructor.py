"""Instructor commands from a learner's lab socket (no permission): every one refused with
an error frame, and nothing done (the nodes still up, as `processes_up` checks)."""

import asyncio

from bench.abuse.target import Outcome, Target, first_frame_of, session

COMMANDS = [
    {"type": "control", "action": "kill", "node": "node-1"},
    {"type": "control", "action": "pause", "node": "node-2"},
    {"type": "node.config", "node": "node-1", "settings": {"latency_ms": 5000}},
    {"type": "node.add"},
    {"type": "node.remove", "node": "node-3"},
    {"type": "lb.algorithm", "algorithm": "random"},
    {"type": "traffic", "rate": 500, "work_ms": 1000, "variance_ms": 0, "ws_clients": 200},
    {"type": "chat.mode", "mode": "local"},
    {"type": "chat.bots", "room": "lobby", "count": 50},
    {"type": "session.mode", "mode": "locmem"},
    {"type": "queue.control", "action": "kill"},
    {"type": "queue.add"},
    {"type": "queue.remove", "consumer": "consumer-1"},
    {"type": "queue.enqueue", "count": 5, "kind": "poison"},
]


async def run(target: Target, seconds: float) -> list[Outcome]:
    outcome = Outcome("instructor commands without the permission get an error frame")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    url = target.ws(target.dashboard, "/ws/lab/")
    async with session() as http, http.ws_connect(url, origin=target.dashboard) as ws:
        await first_frame_of(ws, "welcome", 10)
        while True:
            for command in COMMANDS:
                await ws.send_json(command)
                answer = await _answer(ws)
                outcome.count(answer.get("type") == "error", answer)
                await asyncio.sleep(0.06)  # under the socket's 20 a second
            if target.quick or loop.time() > deadline:
                return [outcome]


async def _answer(ws) -> dict:
    """The frame answering a request: an ack or an error (state and trace frames skipped)."""
    while True:
        message = await ws.receive(timeout=10)
        frame = message.json()
        if frame.get("type") in ("ack", "error"):
            return frame
