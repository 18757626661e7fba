"""No browser is told how to reach Redis: the state (API and frames) has no URL, no password.

The session Redis has a password, so each check would see it if any of it leaked.
"""

import asyncio
import json

import pytest
import redis
from django.test import RequestFactory

from archviz.core.redis_conn import redis_address
from archviz.dashboard.api import lab_state
from archviz.dashboard.feed import LabFeed
from archviz.dashboard.state import read_lab_state
from archviz.lab.embedded_redis import EmbeddedRedis


def _assert_nothing_of_redis_in(text: str, server: EmbeddedRedis) -> None:
    assert server.password and server.password not in text
    assert "redis://" not in text and "redis_url" not in text and '"url"' not in text
    assert f"{server.host}:{server.port}" not in text


def test_the_state_carries_up_and_memory_only(
    redis_client: redis.Redis, redis_server: EmbeddedRedis
) -> None:
    """read_lab_state's Redis part is up, memory and closed subscribers: nothing to connect
    with."""
    state = read_lab_state(redis_client)
    assert set(state["redis"]) == {"up", "used_memory_bytes", "output_buffer_closes"}
    _assert_nothing_of_redis_in(json.dumps(state), redis_server)


async def test_the_anonymous_state_api_has_no_url_and_no_password(
    redis_url: str, redis_server: EmbeddedRedis
) -> None:
    """GET /api/lab/state, as anyone may send it, tells that Redis is up and nothing more."""
    response = await lab_state(RequestFactory().get("/api/lab/state"))
    body = response.content.decode()
    assert json.loads(body)["redis"]["up"] is True
    _assert_nothing_of_redis_in(body, redis_server)


async def test_a_state_frame_has_no_url_and_no_password(
    redis_url: str, redis_server: EmbeddedRedis
) -> None:
    """The frames every open lab page gets have no more of Redis than the API."""
    feed = LabFeed()
    try:
        subscription = feed.subscribe()
        async with asyncio.timeout(10):
            while (frame := json.loads(await subscription.next_frame()))["type"] != "state":
                pass
    finally:
        await feed.stop()
    assert frame["state"]["redis"]["up"] is True
    _assert_nothing_of_redis_in(json.dumps(frame), redis_server)


@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("redis://:s3cret@127.0.0.1:6390/0", "127.0.0.1:6390"),
        ("redis://teacher:s3cret@redis.example/2", "redis.example:6379"),
        ("redis://[::1]:6391/0", "[::1]:6391"),
        ("unix:///run/redis.sock?password=s3cret", "/run/redis.sock"),
    ],
)
def test_redis_address_is_host_and_port_without_the_password(url: str, address: str) -> None:
    """What an instructor's page shows: where Redis is, never the password."""
    assert redis_address(url) == address
