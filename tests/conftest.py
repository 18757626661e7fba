"""Shared fixtures: a real embedded Redis for the whole session, a clean database per test."""

import asyncio
import os
import secrets
import shutil
import socket
from collections.abc import AsyncIterator, Iterator
from types import SimpleNamespace

import pytest
import redis
from django.conf import settings
from django.contrib.auth.models import Group

from archviz.core import keys, runner
from archviz.core.redis_conn import async_blocking_client, sync_client
from archviz.lab.embedded_redis import EmbeddedRedis
from archviz.trace import emitter
from tests.harness.clients import ControlChannel, login_cookies
from tests.harness.lab import RunningLab
from tests.harness.shared_lab import started_lab


@pytest.fixture(scope="session")
def redis_server() -> Iterator[EmbeddedRedis]:
    """A real redis-server (the one the lab embeds, with a password), for the whole session."""
    server = EmbeddedRedis(password=secrets.token_urlsafe(16)).start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: EmbeddedRedis) -> Iterator[str]:
    """The session Redis, emptied, and set as this process's REDIS_URL."""
    previous = settings.ARCHVIZ_REDIS_URL
    settings.ARCHVIZ_REDIS_URL = redis_server.url
    sync_client(redis_server.url).flushdb()
    yield redis_server.url
    settings.ARCHVIZ_REDIS_URL = previous


@pytest.fixture
def redis_client(redis_url: str) -> redis.Redis:
    return sync_client(redis_url)


@pytest.fixture
def dashboard_emitter(redis_url: str) -> Iterator[emitter.Emitter]:
    """This process speaks as the dashboard, as `manage.py dashboard` would. What the test
    emitted is published before it ends, to its own Redis: the emitter is the process's, and
    events still buffered would otherwise reach the next test's trace channel (or wait in the
    buffer through a test without REDIS_URL, and then do)."""
    process_emitter = emitter.configure("dashboard", sync_client)
    yield process_emitter
    process_emitter.flush()


@pytest.fixture
def no_redis_url(settings) -> None:
    """No REDIS_URL in this process, as when a command is run by hand without one."""
    settings.ARCHVIZ_REDIS_URL = None


@pytest.fixture
def listening_port() -> Iterator[int]:
    """A port on 127.0.0.1 that a test socket is listening on (taken, for the test)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.fixture
def component_in_process(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The test may start a component in this process (archviz.core.runner.component): it
    gets a trace emitter of its own, since a component closes its emitter as it stops and
    later tests need theirs open; and no component is current after the test."""
    monkeypatch.setattr(emitter, "_process_emitter", None)
    yield
    if emitter._process_emitter is not None:
        emitter._process_emitter.close()
    runner.set_current_component(None)


@pytest.fixture
def in_process_db(transactional_db, django_db_serialized_rollback) -> None:
    """The test database as the migrations left it (the Instructors group, node-1..3), seen
    from every thread: the consumer reads it in another thread, so the test's rows are
    committed. Every test that runs the consumer needs it, even one that reads no rows:
    Channels closes old database connections in that thread on every message."""


INSTRUCTOR = "ingrid"


@pytest.fixture
def instructor_user(in_process_db, django_user_model):
    """An instructor: a member of the Instructors group the migrations made."""
    user = django_user_model.objects.create_user(INSTRUCTOR, password="in-process-pw-31")
    user.groups.add(Group.objects.get(name="Instructors"))
    return user


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


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def browser_required() -> bool:
    return os.environ.get("ARCHVIZ_REQUIRE_BROWSER") == "1"


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> Iterator[RunningLab]:
    """A whole lab (embedded Redis, dashboard, 3 nodes) on free ports, shared by a module.
    (A package whose modules share one defines its own: tests/harness/shared_lab.py.)"""
    yield from started_lab(tmp_path_factory.mktemp("lab"))


@pytest.fixture(scope="module")
def instructor_cookies(lab: RunningLab) -> dict[str, str]:
    """The cookies of an instructor logged in to the module's lab (made once), to open its
    socket as them."""
    lab.ensure_user("lab-teacher", "lab-instructor-pw-7", instructor=True)
    return asyncio.run(login_cookies(lab.url, "lab-teacher", "lab-instructor-pw-7"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests last: Playwright's sync API keeps an event loop running for the rest
    of the session, which would stop pytest-asyncio from running the async tests. And the
    modules on a package's shared lab after the others of their kind: no lab of a module's
    own then starts while a shared one is up (two labs on two cores slow both)."""
    items.sort(
        key=lambda item: (
            item.get_closest_marker("browser") is not None,
            "shared_lab" in item.fixturenames,
        )
    )


class HandClock:
    """A monotonic clock a test moves by hand (`clock.now += 0.5`)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> HandClock:
    """archviz.core.metrics reads this clock instead of time.monotonic."""
    from archviz.core import metrics

    hand = HandClock()
    monkeypatch.setattr(metrics, "time", SimpleNamespace(monotonic=hand.monotonic))
    return hand
