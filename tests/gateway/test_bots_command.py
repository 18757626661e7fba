"""`manage.py auctionbots`: the `gateway.bots` command, where the bots find the gateway, and
the command as a real process set live by an instructor's command."""

import json
import os
from collections.abc import Iterator

import pytest
import redis
from django.core.management import call_command
from django.core.management.base import CommandError

from archviz.core import registry
from archviz.core.control import InvalidCommand, parse_command, send_command
from archviz.core.registry import Metrics, Registration, now_ms
from archviz.gateway import control, keys
from archviz.gateway.management.commands.auctionbots import (
    NOWHERE,
    GatewayAddress,
    find_gateway,
    stored_count,
)
from archviz.lab.embedded_redis import EmbeddedRedis
from tests.harness.processes import ManagePy, command_env
from tests.harness.wait_for import wait_for

integration = pytest.mark.integration


@pytest.fixture(autouse=True)
def _registered() -> None:
    """gateway.bots is known, as the gateway app's ready() will make it."""
    control.register()


# --- the command ---------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [0, 1, 20])
def test_gateway_bots_takes_a_count_from_0_to_20(count: int) -> None:
    command = parse_command(json.dumps({"type": "gateway.bots", "count": count, "by": "ingrid"}))
    assert command == {"type": "gateway.bots", "count": count, "by": "ingrid", "trace": ""}


@pytest.mark.parametrize(
    ("count", "message"),
    [(21, "from 0 to 20"), (-1, "from 0 to 20"), ("3", "whole number"), (True, "whole number"),
     (2.5, "whole number"), (None, "whole number")],
)  # fmt: skip
def test_a_bad_count_is_refused_saying_why(count: object, message: str) -> None:
    with pytest.raises(InvalidCommand, match=message):
        parse_command(json.dumps({"type": "gateway.bots", "count": count}))


@pytest.mark.parametrize(
    ("raw", "count"), [(None, 0), (b"3", 3), (b"20", 20), (b"21", 0), (b"-1", 0), (b"x", 0)]
)
def test_the_stored_count_is_taken_only_if_it_is_one(raw: bytes | None, count: int) -> None:
    assert stored_count(raw) == count


# --- where the gateway is ----------------------------------------------------------------------


def _register(client: redis.Redis, component_id: str, kind: str, port: int, *, vouched: bool,
              **extra: object) -> None:  # fmt: skip
    pid = os.getpid()
    registry.register(client, Registration(component_id, kind, pid, "127.0.0.1", port, now_ms()),
                      Metrics(id=component_id, ts=now_ms(), extra=extra))  # fmt: skip
    if vouched:
        registry.vouch(client, component_id, kind, pid, port)


def test_the_bots_go_to_the_balancers_gateway_listener(redis_client: redis.Redis) -> None:
    _register(redis_client, "gateway-1", "gateway", 7001, vouched=True)
    _register(redis_client, "lb", "balancer", 8100, vouched=True, gateway_listener={"port": 8200})
    assert find_gateway(redis_client) == "http://127.0.0.1:8200"


def test_without_the_balancers_listener_the_bots_go_to_a_gateway_replica(
    redis_client: redis.Redis,
) -> None:
    """A balancer that names no (or no usable) gateway port: the first vouched replica."""
    _register(redis_client, "gateway-2", "gateway", 7002, vouched=True)
    _register(redis_client, "gateway-1", "gateway", 7001, vouched=True)
    _register(redis_client, "lb", "balancer", 8100, vouched=True, gateway_listener={"port": True})
    assert find_gateway(redis_client) == "http://127.0.0.1:7001"


def test_planted_registrations_are_not_followed(redis_client: redis.Redis) -> None:
    """Neither a balancer nor a replica the supervisor does not vouch for."""
    _register(redis_client, "lb", "balancer", 8100, vouched=False, gateway_listener={"port": 6666})
    _register(redis_client, "gateway-1", "gateway", 6667, vouched=False)
    target = GatewayAddress()
    target.refresh(redis_client)
    assert (find_gateway(redis_client), target()) == (None, NOWHERE)


def test_a_fixed_address_is_kept_and_a_found_one_followed(redis_client: redis.Redis) -> None:
    fixed, found = GatewayAddress("http://127.0.0.1:9"), GatewayAddress()
    _register(redis_client, "gateway-1", "gateway", 7001, vouched=True)
    fixed.refresh(redis_client)
    found.refresh(redis_client)
    assert (fixed(), found()) == ("http://127.0.0.1:9", "http://127.0.0.1:7001")
    redis_client.delete("archviz:registry:gateway:gateway-1")
    found.refresh(redis_client)
    assert found() == "http://127.0.0.1:7001"  # where it was, until another is found


# --- as a process --------------------------------------------------------------------------------


def test_without_redis_it_stops_naming_redis_url(no_redis_url: None) -> None:
    with pytest.raises(CommandError, match="REDIS_URL is not set"):
        call_command("auctionbots")


def test_a_count_out_of_bounds_is_refused() -> None:
    with pytest.raises(CommandError, match="--count must be from 0 to 20"):
        call_command("auctionbots", count=21)


def _view(client: redis.Redis) -> dict:
    raw = client.get(keys.BOTS_VIEW)
    return json.loads(raw) if raw else {}


@pytest.fixture
def bots_process(redis_server: EmbeddedRedis, redis_client: redis.Redis) -> Iterator[ManagePy]:
    """`manage.py auctionbots` with no gateway to find and none stored: no bots."""
    env = command_env(REDIS_URL=redis_server.url)
    with ManagePy("auctionbots", env=env, name="auctionbots") as process:
        process.wait_registered(redis_client, "auctionbots")
        yield process


@integration
def test_an_instructors_command_sets_the_bots_live_and_is_kept(
    bots_process: ManagePy, redis_client: redis.Redis
) -> None:
    """gateway.bots 3 starts three bots (with no gateway they fail and back off, saying
    why); 0 stops them; the count is kept in Redis for the next start."""
    command = parse_command(json.dumps({"type": "gateway.bots", "count": 3, "by": "ingrid"}))
    assert send_command(redis_client, command) >= 1
    view = wait_for(lambda: _view(redis_client), "3 bots", until=lambda v: v.get("bots") == 3)
    assert redis_client.get(keys.BOTS) == b"3"
    wait_for(lambda: _view(redis_client), "their errors", until=lambda v: v["errors"] >= 3)
    assert view["gateway"] == NOWHERE and view["connected"] == 0
    send_command(redis_client, parse_command(json.dumps({"type": "gateway.bots", "count": 0})))
    wait_for(lambda: _view(redis_client), "no bots", until=lambda v: v.get("bots") == 0)
    assert redis_client.get(keys.BOTS) == b"0"
    bots_process.stop(timeout=10)
    assert bots_process.returncode == 0, bots_process.output()
    assert registry.lookup(redis_client, "auctionbots", "auctionbots") is None
