"""What the attacks aim at, and how each attack says how it went."""

import asyncio
import json
import urllib.request
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import aiohttp

EVIL_ORIGIN = "http://evil.example"


@dataclass
class Target:
    """A running lab's addresses (from its /api/lab/state and the supervisor's output)."""

    dashboard: str  # http://host:port
    lb: str  # http://host:port of the balancer's node listener
    nodes: dict[str, int]  # node id -> port
    redis_url: str
    quick: bool = False

    @property
    def host(self) -> str:
        return urlsplit(self.dashboard).hostname

    @property
    def dashboard_port(self) -> int:
        return urlsplit(self.dashboard).port

    @property
    def lb_port(self) -> int:
        return urlsplit(self.lb).port

    def ws(self, base: str, path: str) -> str:
        return base.replace("http", "ws", 1) + path

    def state(self) -> dict:
        with urllib.request.urlopen(self.dashboard + "/api/lab/state", timeout=5) as answer:
            return json.load(answer)

    @classmethod
    def of_lab(cls, dashboard: str, redis_url: str, *, quick: bool = False) -> "Target":
        probe = cls(dashboard, "", {}, redis_url, quick)
        state = probe.state()
        lb_port = state["lb"]["port"]
        nodes = {n["id"]: n["port"] for n in state["nodes"] if n["status"] == "up"}
        return cls(dashboard, f"http://{probe.host}:{lb_port}", nodes, redis_url, quick)


@dataclass
class Outcome:
    """One attack case: how often it was tried and how often the lab refused it."""

    attack: str
    tried: int = 0
    refused: int = 0
    seen: list[str] = field(default_factory=list)  # what came back when it was not refused

    def count(self, refused: bool, answer: object = None) -> None:
        self.tried += 1
        if refused:
            self.refused += 1
        elif len(self.seen) < 3:
            self.seen.append(str(answer)[:120])

    @property
    def held(self) -> bool:
        return self.tried > 0 and self.refused == self.tried

    def as_dict(self) -> dict:
        return {"attack": self.attack, "tried": self.tried, "refused": self.refused,
                "held": self.held, "seen": self.seen}  # fmt: skip


def session(**options) -> aiohttp.ClientSession:
    timeout = aiohttp.ClientTimeout(total=10)
    return aiohttp.ClientSession(timeout=timeout, cookie_jar=aiohttp.DummyCookieJar(), **options)


async def first_frame_of(ws: aiohttp.ClientWebSocketResponse, kind: str, timeout: float = 5):
    """The next JSON frame of this type (others skipped); None if the socket closed or
    none came in time."""
    try:
        async with asyncio.timeout(timeout):
            async for message in ws:
                if message.type == aiohttp.WSMsgType.TEXT:
                    frame = json.loads(message.data)
                    if frame.get("type") == kind:
                        return frame
    except TimeoutError:
        pass
    return None
