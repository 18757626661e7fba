"""The in-process gateway's fixtures, shared by test_edge_app.py and test_edge_sockets.py
(imported whole: `from tests.gateway.edge_support import *`): the gateway's application on
a test server, in front of the catalog's own application, on the session's Redis, and
tokens signed by the ring's key."""

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator, Callable, Iterator

import pytest
import redis
from aiohttp.test_utils import TestClient, TestServer

from archviz.core.redis_conn import async_blocking_client
from archviz.core.registry import Registration
from archviz.gateway import catalog, signing_keys, tokens
from archviz.gateway.auction import open_auction
from archviz.gateway.edge.app import GATEWAY, build, make_app
from archviz.gateway.edge.state import Gateway
from archviz.gateway.routes import ROUTES
from archviz.gateway.tokens import SigningKey
from archviz.trace.emitter import Emitter
from archviz.trace.events import TRACE_LOG, now_ms

# the fixtures, for `import *` (a fixture imported by name would shadow the test's argument)
__all__ = ["catalog_app", "gateway", "key", "replicas", "token", "trace"]

LAMP = "test-lamp"  # opened by the catalog_app fixture: its seq is 1

MINUTE_MS = 60_000
SHORT_DEADLINE_MS = 300


def registration(component_id: str, kind: str, port: int) -> Registration:
    return Registration(component_id, kind, os.getpid(), "127.0.0.1", port, now_ms())


def short_deadlines() -> tuple:
    """The route table with the catalog's and the socket's deadlines cut, for quick tests."""
    short = {"catalog.get", "ws.auction"}
    return tuple(r._replace(deadline_ms=SHORT_DEADLINE_MS) if r.name in short else r
                 for r in ROUTES)  # fmt: skip


class Replicas(dict):
    """What the gateway finds in the "registry": kind -> registrations, set by the test."""

    def source(self, kind: str) -> list[Registration]:
        return list(self.get(kind, []))


@pytest.fixture
def trace(redis_client: redis.Redis) -> Iterator[Emitter]:
    emitter = Emitter("gateway-t", client_factory=lambda: redis_client).start()
    yield emitter
    emitter.close()


@pytest.fixture
async def catalog_app(redis_client: redis.Redis) -> AsyncIterator[TestServer]:
    """The catalog's own application, replica catalog-1, with one open auction."""
    now = now_ms()
    open_auction(redis_client, LAMP, "Lamp", 4_000, int(now) + 10 * MINUTE_MS, now)
    async with TestServer(catalog.make_app("catalog-1", lambda: redis_client)) as server:
        yield server


@pytest.fixture
def replicas(catalog_app: TestServer) -> Replicas:
    return Replicas(catalog=[registration("catalog-1", "catalog", catalog_app.port)])


@pytest.fixture
async def gateway(
    redis_client: redis.Redis, redis_url: str, trace: Emitter, replicas: Replicas
) -> AsyncIterator[TestClient]:
    """Replica gateway-t on a test server, finding the services in `replicas`."""
    built = build("gateway-t", trace, client=lambda: redis_client, source=replicas.source,
                  pubsub=async_blocking_client(redis_url))  # fmt: skip
    built.routes = short_deadlines()
    async with TestClient(TestServer(make_app(built))) as client:
        yield client


def parts(client: TestClient) -> Gateway:
    return client.server.app[GATEWAY]


@pytest.fixture
def key(redis_client: redis.Redis) -> SigningKey:
    return signing_keys.current_signing_key(redis_client, time.time())


@pytest.fixture
def token(key: SigningKey) -> Callable[..., str]:
    """token(name, role="bidder", **issue_options): a token signed by the ring's key."""

    def make(name: str = "alice", role: str = "bidder", **options) -> str:
        return tokens.issue(name, role, key, options.pop("now", time.time()), **options)

    return make


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def raw_get(port: int, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
    """GET `path` exactly as given, over a plain socket: the status and the body."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    answer = await reader.read()
    writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def catalog_requests(server: TestServer) -> int:
    return server.app[catalog.COUNTERS]["requests"]


def published(redis_client: redis.Redis, emitter: Emitter) -> list[dict]:
    """Every trace event published so far (the emitter flushed first)."""
    emitter.flush()
    batches = redis_client.xrange(TRACE_LOG)
    return [e for _id, fields in batches for e in json.loads(fields[b"batch"])]


def events(redis_client: redis.Redis, emitter: Emitter, trace_id: str) -> list[dict]:
    """The trace events of one flow, as published."""
    return [e for e in published(redis_client, emitter) if e["trace"] == trace_id]
