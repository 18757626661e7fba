"""`manage.py auth` as a real process: tokens that a gateway replica's KeyFollower verifies,
its counts in the heartbeat, and how it starts and stops."""

import time
from collections.abc import Iterator

import aiohttp
import pytest
import redis
from django.core.management import call_command
from django.core.management.base import CommandError

from archviz.core.registry import Registration, latest_metrics, lookup
from archviz.gateway.auth_http import SERVICE_HEADER
from archviz.gateway.signing_keys import KeyFollower
from archviz.gateway.tokens import KeySet, verify
from archviz.lab.embedded_redis import EmbeddedRedis
from tests.harness.processes import ManagePy, command_env
from tests.harness.wait_for import wait_for

integration = pytest.mark.integration


@pytest.fixture
def auth_process(redis_server: EmbeddedRedis, redis_client: redis.Redis) -> Iterator[tuple]:
    """`manage.py auth --id auth-1` on a free port: the process and its registration."""
    env = command_env(REDIS_URL=redis_server.url)
    with ManagePy("auth", "--id", "auth-1", env=env, name="auth-1") as process:
        yield process, process.wait_registered(redis_client, "auth")


@integration
async def test_the_command_issues_tokens_that_a_replica_verifies(
    auth_process: tuple, redis_client: redis.Redis
) -> None:
    """A bidder's token verifies with the JWKS it serves and with the ring a gateway
    replica reads from Redis."""
    _process, found = auth_process
    base = f"http://127.0.0.1:{found.port}/auth"
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{base}/token", json={"name": "ada", "role": "bidder"}) as answer:
            assert answer.status == 200
            assert answer.headers[SERVICE_HEADER] == "auth-1"
            token = (await answer.json())["token"]
        async with session.get(f"{base}/jwks.json") as answer:
            jwks = await answer.json()
    assert verify(token, KeySet.from_jwks(jwks), now=time.time())["sub"] == "ada"
    follower = KeyFollower()
    assert follower.refresh(redis_client, time.monotonic(), time.time())
    claims = follower.verify(token, now=time.time(), mono=time.monotonic())
    assert claims["role"] == "bidder"


@integration
async def test_its_heartbeat_reports_tokens_issued_and_refused_by_reason(
    auth_process: tuple, redis_client: redis.Redis
) -> None:
    _process, found = auth_process
    async with aiohttp.ClientSession() as session:
        url = f"http://127.0.0.1:{found.port}/auth/token"
        for body in ({"name": "ada", "role": "viewer"}, {"name": "ada", "role": "king"}):
            async with session.post(url, json=body):
                pass

    def counts() -> dict:
        metrics = latest_metrics(redis_client, ["auth-1"]).get("auth-1")
        return metrics.extra if metrics is not None else {}

    extra = wait_for(counts, "the counts in a heartbeat", until=lambda e: e.get("issued") == 1)
    assert extra["refused"] == {"bad_request": 1} and extra["issued_by_role"] == {"viewer": 1}


@integration
def test_sigterm_stops_it_and_takes_it_out_of_the_registry(
    auth_process: tuple, redis_client: redis.Redis
) -> None:
    process, found = auth_process
    assert isinstance(found, Registration) and found.port > 0
    process.stop(timeout=10)
    assert process.returncode == 0, process.output()
    assert lookup(redis_client, "auth", "auth-1") is None


def test_without_redis_it_stops_naming_redis_url(no_redis_url: None) -> None:
    with pytest.raises(CommandError, match="REDIS_URL is not set"):
        call_command("auth", id="auth-1")


def test_its_id_is_required() -> None:
    with pytest.raises(CommandError, match="the following arguments are required: --id"):
        call_command("auth")


def test_a_taken_port_is_refused_naming_it(listening_port: int) -> None:
    with pytest.raises(CommandError, match=f"port {listening_port} .* already in use"):
        call_command("auth", id="auth-1", port=listening_port, host="127.0.0.1")
