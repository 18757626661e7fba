"""Chat fixtures: a lab with an instructor, clients pinned to chosen nodes, mode switching."""

import contextlib

import pytest

from archviz.chat.client import ChatClient, running
from tests.harness.clients import lab_socket, login_cookies, next_frame
from tests.harness.lab import RunningLab


@pytest.fixture(scope="module")
def chat_lab(lab: RunningLab) -> RunningLab:
    """The module's lab, with an instructor account to switch modes."""
    lab.create_user("teacher", "chat-pass-123", instructor=True)
    return lab


def node_url(lab: RunningLab, node: str) -> str:
    port = next(n["port"] for n in lab.state()["nodes"] if n["id"] == node)
    return f"http://127.0.0.1:{port}"


def lb_url(lab: RunningLab) -> str:
    return f"http://127.0.0.1:{lab.state()['lb']['port']}"


async def set_mode(lab: RunningLab, mode: str) -> None:
    """Switch the broadcast mode as an instructor, and wait until every node uses it."""
    cookies = await login_cookies(lab.url, "teacher", "chat-pass-123")
    async with lab_socket(lab.url, cookies=cookies) as ws:
        await next_frame(ws, "welcome")
        await ws.send_json({"type": "chat.mode", "mode": mode})
        await next_frame(ws, "ack", lambda f: f["action"] == "chat.mode")
    for node in ("node-1", "node-2", "node-3"):
        probe = ChatClient(node_url(lab, node), "probe", "probe", reconnect=False)
        async with running(probe):
            assert probe.frames_of("welcome")[0]["mode"] == mode


@contextlib.asynccontextmanager
async def clients_on(lab: RunningLab, room: str, *placements: tuple[str, str]):
    """Chat clients (user, node) connected straight to the given nodes."""
    async with contextlib.AsyncExitStack() as stack:
        made = []
        for user, node in placements:
            client = ChatClient(node_url(lab, node), room, user)
            made.append(await stack.enter_async_context(running(client)))
        yield made


@contextlib.asynccontextmanager
async def all_running(clients: list[ChatClient]):
    """Every client connected (wherever the LB puts them) for the block."""
    async with contextlib.AsyncExitStack() as stack:
        yield [await stack.enter_async_context(running(c)) for c in clients]
