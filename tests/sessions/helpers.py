"""A learner's cart client through the load balancer, and the instructor's mode switch."""

import json
import os
import signal
import time

import aiohttp

from tests.harness.clients import lab_socket, next_frame
from tests.harness.lab import RunningLab
from tests.harness.wait_for import async_wait_for


class CartClient:
    """One learner's browser, seen from the node: a cookie jar and the dashboard's Origin."""

    def __init__(self, lab: RunningLab) -> None:
        self.base = f"http://127.0.0.1:{lab.state()['lb']['port']}/cart/"
        self.origin = lab.url
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    async def __aenter__(self) -> "CartClient":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.http.close()

    async def request(
        self, method: str, path: str = "", *, body: object = None, **headers: str
    ) -> tuple[int, dict]:
        headers = {"Origin": self.origin, "Content-Type": "application/json"} | headers
        data = body if isinstance(body, bytes | None) else json.dumps(body).encode()
        async with self.http.request(method, self.base + path, data=data, headers=headers) as r:
            return r.status, await r.json(content_type=None)

    async def view(self, trace: str = "") -> dict:
        status, answer = await self.request("GET", f"?trace={trace}" if trace else "")
        assert status == 200, answer
        return answer

    async def add(self, item: str, trace: str = "") -> dict:
        path = f"items?trace={trace}" if trace else "items"
        status, answer = await self.request("POST", path, body={"item": item})
        assert status == 200, answer
        return answer


async def switch_mode(lab: RunningLab, cookies: dict, mode: str) -> None:
    """As an instructor, through the lab socket; then wait until every node answers in it."""
    async with lab_socket(lab.url, cookies=cookies) as ws:
        await next_frame(ws, "welcome")
        await ws.send_json({"type": "session.mode", "mode": mode})
        frame = await next_frame(ws, "ack", timeout=10)
        assert frame["action"] == "session.mode"
    algorithm = {"local": "round_robin", "sticky": "consistent_hash", "redis": "round_robin"}
    lab.wait_until(lambda s: s["lb"]["algorithm"] == algorithm[mode], f"LB on {algorithm[mode]}")
    async with CartClient(lab) as probe:

        async def modes_answered() -> set[str]:
            return {(await probe.view())["mode"] for _ in range(6)}

        await async_wait_for(
            modes_answered,
            f"every node answering in mode {mode}",
            until=lambda modes: modes == {mode},
        )


def kill_node(lab: RunningLab, node_id: str) -> int:
    """SIGKILL a node's process (no clean-up runs); returns the pid that was killed."""
    pid = lab.node(node_id)["pid"]
    os.kill(pid, signal.SIGKILL)
    return pid


def wait_for_restart(lab: RunningLab, node_id: str, old_pid: int) -> None:
    """The supervisor restarted the node and the balancer routes to it again."""
    lab.wait_until(
        lambda s: (
            any(
                n["id"] == node_id and n["status"] == "up" and n["pid"] != old_pid
                for n in s["nodes"]
            )
            and sum(b["health"] == "healthy" for b in s["lb"]["backends"]) == 3
        ),
        f"{node_id} restarted and healthy",
        timeout=30,
    )


async def answers_after_kill(learner: CartClient, count: int, timeout: float = 10) -> list[dict]:
    """The next `count` cart views answered by a node. Just after a SIGKILL the LB may answer
    one with a 502 of its own (its pooled connection to the dead node was reset), which
    is not a node's answer: those are skipped, a bounded number of times."""
    answers: list[dict] = []
    refused: list[dict] = []

    async def one_more() -> list[dict]:
        status, answer = await learner.request("GET")
        if status == 502 and "node" not in answer:
            refused.append(answer)
            assert len(refused) <= 3, f"the LB kept failing after the kill: {answer}"
        else:
            assert status == 200, answer
            answers.append(answer)
        return answers

    return await async_wait_for(
        one_more,
        f"{count} answers from a node",
        timeout,
        until=lambda found: len(found) >= count,
        interval=0,
    )


async def session_events(ws, traces: set[str], timeout: float = 10) -> dict[str, list[dict]]:
    """Every session event of these traces, by trace, once each trace has at least one.
    (One trace frame can hold several traces' events, so frames are read here, not matched.)"""
    found: dict[str, list[dict]] = {t: [] for t in traces}
    deadline = time.monotonic() + timeout
    while not all(found.values()):
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"no session events for {[t for t, e in found.items() if not e]}"
        frame = await next_frame(ws, "trace", timeout=remaining)
        for event in frame["events"]:
            if event["trace"] in found and event["kind"].startswith("session."):
                found[event["trace"]].append(event)
    return found
