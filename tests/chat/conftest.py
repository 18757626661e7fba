"""Chat fixtures: a lab with an instructor (one lab for the package's modules that need none
of their own: tests/harness/shared_lab.py), clients pinned to chosen nodes, mode switching."""

import contextlib
from collections.abc import Iterator

import pytest

from archviz.chat.client import ChatClient, running
from tests.harness.clients import lab_socket, login_cookies, next_frame
from tests.harness.lab import RunningLab
from tests.harness.shared_lab import SharedLab, module_lab_fixture, shared_lab_fixture


@pytest.fixture(scope="package")
def shared_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedLab]:
    yield from shared_lab_fixture(tmp_path_factory)


@pytest.fixture(scope="module")
def lab(shared_lab: SharedLab, request: pytest.FixtureRequest) -> Iterator[RunningLab]:
    """The package's shared lab as it started; what the module changed is put back after it.
    (A module that needs a lab of its own defines its own `lab`.)"""
    yield from module_lab_fixture(shared_lab, request)


@pytest.fixture(scope="module")
def chat_lab(lab: RunningLab) -> RunningLab:
    """The module's lab, with an instructor account to switch modes."""
    lab.ensure_user("teacher", "chat-pass-123", instructor=True)
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
