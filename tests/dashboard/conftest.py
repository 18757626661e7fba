"""The lab socket in this process: archviz.asgi.application (origin check, sessions, auth,
the LabConsumer) through WebsocketCommunicator, on the session's real Redis."""

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import redis.asyncio
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth.models import Group
from django.test import Client

from archviz.core import keys
from archviz.core.redis_conn import async_blocking_client
from tests.harness.clients import output_frame

PAGE_ORIGIN = "http://127.0.0.1:8000"
INSTRUCTOR = "ingrid"

Connect = Callable[..., Awaitable[tuple[WebsocketCommunicator, dict]]]


def lab_communicator(
    origin: str | None = PAGE_ORIGIN, session_key: str = ""
) -> WebsocketCommunicator:
    """The lab socket as a page of `origin` opens it, logged in when given a session key."""
    from archviz.asgi import application

    headers = [(b"host", b"127.0.0.1:8000")]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    if session_key:
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={session_key}".encode()))
    return WebsocketCommunicator(application, "/ws/lab/", headers=headers)


@pytest.fixture
def in_process_db(transactional_db, django_db_serialized_rollback) -> None:
    """The test database as the migrations left it (the Instructors group, node-1..3), seen
    from every thread: the consumer reads it in another thread, so the test's rows are
    committed. Every test that runs the consumer needs it, even one that reads no rows:
    Channels closes old database connections in that thread on every message."""


@pytest.fixture
async def connect(redis_url: str, dashboard_emitter, in_process_db) -> AsyncIterator[Connect]:
    """`await connect(session_key="")`: an open lab socket and its welcome frame; every
    socket opened is disconnected after the test (which surfaces a consumer's crash)."""
    opened: list[WebsocketCommunicator] = []

    async def open_socket(session_key: str = "") -> tuple[WebsocketCommunicator, dict]:
        communicator = lab_communicator(session_key=session_key)
        connected, code = await communicator.connect(timeout=10)
        assert connected, f"the lab socket was refused with {code}"
        opened.append(communicator)
        return communicator, await output_frame(communicator, "welcome")

    yield open_socket
    for communicator in opened:
        await communicator.disconnect(timeout=10)
    await _stop_left_tasks()


async def _stop_left_tasks() -> None:
    """Stop what the consumers left running on this loop (the feed's listener and state
    publisher) before pytest-asyncio closes it. Python 3.11's asyncio.wait_for can swallow
    a cancellation that arrives as the awaitable it wraps completes, and the feed's state
    publisher waits in one: cancelled once, it may carry on, and closing the loop would
    wait for it for ever. So whatever is left is cancelled until it has stopped."""
    current = asyncio.current_task()
    for _ in range(20):
        left = [task for task in asyncio.all_tasks() if task is not current]
        if not left:
            return
        for task in left:
            task.cancel()
        await asyncio.wait(left, timeout=0.5)
    pytest.fail(f"tasks that would not stop: {left}")


@pytest.fixture
def instructor_session(in_process_db, django_user_model) -> str:
    """The session key of a logged-in instructor, a member of the migration's Instructors."""
    user = django_user_model.objects.create_user(INSTRUCTOR, password="in-process-pw-31")
    user.groups.add(Group.objects.get(name="Instructors"))
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


class ControlChannel:
    """A subscriber to the control channel, as a supervisor or node would be."""

    def __init__(self, pubsub: redis.asyncio.client.PubSub, client: redis.asyncio.Redis) -> None:
        self.pubsub = pubsub
        self.client = client

    async def published(self) -> list[dict]:
        """Every command published so far: a marker is published last and read back, and
        Redis delivers in order, so nothing sent before it can still be on its way."""
        await self.client.publish(keys.CONTROL_CHANNEL, json.dumps({"type": "test.marker"}))
        commands = []
        while True:
            message = await self.pubsub.get_message(ignore_subscribe_messages=True, timeout=10)
            assert message is not None, "the marker never came back"
            command = json.loads(message["data"])
            if command["type"] == "test.marker":
                return commands
            commands.append(command)


@pytest.fixture
async def control_channel(redis_url: str) -> AsyncIterator[ControlChannel]:
    """Listening on the control channel from before the test sends anything."""
    client = async_blocking_client(redis_url)
    pubsub = client.pubsub()
    await pubsub.subscribe(keys.CONTROL_CHANNEL)
    confirmation = await pubsub.get_message(timeout=10)
    assert confirmation is not None and confirmation["type"] == "subscribe"
    yield ControlChannel(pubsub, client)
    await pubsub.aclose()
    await client.aclose()
