"""The lab socket in this process: archviz.asgi.application (origin check, sessions, auth,
the LabConsumer) through WebsocketCommunicator, on the session's real Redis. And one whole
lab for the package's modules that run against one (tests/harness/shared_lab.py)."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import pytest
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from tests.harness.clients import output_frame
from tests.harness.lab import RunningLab
from tests.harness.shared_lab import SharedLab, module_lab_fixture, shared_lab_fixture

PAGE_ORIGIN = "http://127.0.0.1:8000"

Connect = Callable[..., Awaitable[tuple[WebsocketCommunicator, dict]]]


def lab_communicator(
    origin: str | None = PAGE_ORIGIN, session_key: str = "", path: str = "/ws/lab/"
) -> WebsocketCommunicator:
    """The lab socket as a page of `origin` opens it, logged in when given a session key
    (`path` may carry the page's `?page=`)."""
    from archviz.asgi import application

    headers = [(b"host", b"127.0.0.1:8000")]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    if session_key:
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={session_key}".encode()))
    return WebsocketCommunicator(application, path, headers=headers)


@pytest.fixture(scope="package")
def shared_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedLab]:
    yield from shared_lab_fixture(tmp_path_factory)


@pytest.fixture(scope="module")
def lab(shared_lab: SharedLab, request: pytest.FixtureRequest) -> Iterator[RunningLab]:
    """The package's shared lab as it started; what the module changed is put back after it.
    (A module that needs a lab of its own defines its own `lab`.)"""
    yield from module_lab_fixture(shared_lab, request)


@pytest.fixture
async def connect(redis_url: str, dashboard_emitter, in_process_db) -> AsyncIterator[Connect]:
    """`await connect(session_key="", path=…)`: an open lab socket and its welcome frame;
    every socket opened is disconnected after the test (which surfaces a consumer's crash)."""
    opened: list[WebsocketCommunicator] = []

    async def open_socket(
        session_key: str = "", path: str = "/ws/lab/"
    ) -> tuple[WebsocketCommunicator, dict]:
        communicator = lab_communicator(session_key=session_key, path=path)
        connected, code = await communicator.connect(timeout=10)
        assert connected, f"the lab socket was refused with {code}"
        opened.append(communicator)
        return communicator, await output_frame(communicator, "welcome")

    yield open_socket
    for communicator in opened:
        await _disconnect(communicator)
    await _stop_left_tasks()


async def _disconnect(communicator: WebsocketCommunicator) -> None:
    """Disconnect, which raises a consumer's crash. A receive that timed out has already
    cancelled the consumer: then there is nothing to disconnect, and asgiref's CancelledError
    (a BaseException, which pytest's teardown does not catch) must not escape the fixture,
    where it would leave the test's database and fixtures to the next test."""
    if communicator.future.cancelled():
        return
    await communicator.disconnect(timeout=10)


async def _stop_left_tasks() -> None:
    """Stop what the consumers left running on this loop (the feed's listener and state
    publisher) before pytest-asyncio closes it: one cancellation must stop each of them
    (a task that swallows it would hang the loop's close for ever)."""
    current = asyncio.current_task()
    left = [task for task in asyncio.all_tasks() if task is not current]
    for task in left:
        task.cancel()
    if left:
        _done, pending = await asyncio.wait(left, timeout=5)
        assert not pending, f"tasks that would not stop when cancelled: {pending}"


@pytest.fixture
def instructor_session(instructor_user) -> str:
    """The session key of the instructor, logged in."""
    client = Client()
    client.force_login(instructor_user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value
