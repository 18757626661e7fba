"""Shared fixtures: a real embedded Redis for the whole session, a clean database per test."""

import os
import secrets
import shutil
from collections.abc import Iterator

import pytest
import redis
from django.conf import settings

from archviz.core.redis_conn import sync_client
from archviz.lab.embedded_redis import EmbeddedRedis
from archviz.trace import emitter
from tests.running_lab import RunningLab


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
def dashboard_emitter(redis_url: str) -> emitter.Emitter:
    """This process speaks as the dashboard, as `manage.py dashboard` would."""
    return emitter.configure("dashboard", sync_client)


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def browser_required() -> bool:
    return os.environ.get("ARCHVIZ_REQUIRE_BROWSER") == "1"


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> Iterator[RunningLab]:
    """A whole lab (embedded Redis, dashboard, 3 nodes) on free ports, shared by a module."""
    running = RunningLab(tmp_path_factory.mktemp("lab")).start()
    running.wait_for_ready(3)
    yield running
    if running.process.poll() is None:
        running.stop()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests last: Playwright's sync API keeps an event loop running for the rest
    of the session, which would stop pytest-asyncio from running the async tests."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)
