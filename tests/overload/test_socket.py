"""The overload page's lab-socket requests, checked on the server: a learner is refused every
scenario and nothing is published or written; a bad value is refused naming its field; a
valid one reaches Redis (the control channel, or the reconnect policy's hash)."""

import json

import pytest
import redis
from django.apps import apps
from django.contrib.auth.models import AnonymousUser

from archviz.core import keys, registry
from archviz.core.instructor import ControlRefused
from archviz.core.reconnect import POLICY_KEY
from archviz.core.registry import Metrics, Registration
from archviz.overload import keys as overload_keys
from archviz.overload import socket
from tests.harness.clients import ControlChannel

pytestmark = pytest.mark.usefixtures("dashboard_emitter")
Node = apps.get_model("dashboard", "Node")


def _requests() -> list[dict]:
    return [
        {"type": "overload.clients", "count": 300, "target": "node-2", "seconds": 20},
        {"type": "overload.hog", "node": "node-1", "seconds": 10},
        {"type": "overload.balloon", "node": "node-1", "mb": 256, "seconds": 10},
        {"type": "overload.shed", "node": "node-2", "percent": 30},
        {"type": "overload.double", "limiter": "off"},
        {"type": "overload.restore"},
        {"type": "overload.reconnect", "policy": "immediate"},
        {"type": "overload.shed_policy", "policy": "oldest"},
    ]


def _handler(request: dict):
    from archviz.core.labsocket import handler_for

    return handler_for(request["type"])


async def test_a_learner_is_refused_every_scenario_and_nothing_reaches_redis(
    redis_client: redis.Redis, control_channel: ControlChannel
) -> None:
    """403 naming the permission, for every request; no command, no policy written."""
    for request in _requests():
        with pytest.raises(ControlRefused) as refused:
            await _handler(request)(AnonymousUser(), request)
        assert refused.value.status == 403, request["type"]
        assert "control_lab" in refused.value.reason
    assert await control_channel.published() == []
    assert redis_client.exists(POLICY_KEY, overload_keys.DOUBLE) == 0


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        ({"type": "overload.clients", "count": 5000, "target": "node-2"}, "count"),
        ({"type": "overload.clients", "count": 5, "target": "Node 2!"}, "target"),
        ({"type": "overload.clients", "count": 5, "target": "lb", "seconds": 9999}, "seconds"),
        ({"type": "overload.hog", "node": "node-1", "seconds": 3600}, "seconds"),
        ({"type": "overload.balloon", "node": "node-1", "mb": 4096, "seconds": 10}, "mb"),
        ({"type": "overload.shed", "node": "node-2", "percent": 130}, "percent"),
        ({"type": "overload.reconnect", "policy": "immediate", "base_ms": -5}, "base_ms"),
        ({"type": "overload.reconnect", "policy": "immediate", "cap_ms": 10**6}, "cap_ms"),
        ({"type": "overload.reconnect", "policy": "sometimes"}, "reconnect policy"),
        ({"type": "overload.shed_policy", "policy": "loudest"}, "shedding policy"),
        ({"type": "overload.double", "limiter": "maybe"}, "limiter"),
    ],
)
async def test_a_bad_value_is_refused_naming_the_field(
    instructor_user, redis_client: redis.Redis, control_channel: ControlChannel, request_, field
) -> None:
    with pytest.raises(ControlRefused) as refused:
        await _handler(request_)(instructor_user, request_)
    assert refused.value.status == 400
    assert field in refused.value.reason
    assert await control_channel.published() == []


async def test_a_flood_of_a_node_the_supervisor_does_not_run_is_refused(
    instructor_user, redis_client: redis.Redis, control_channel: ControlChannel
) -> None:
    redis_client.hset(keys.PROCESSES, "consumer-1", json.dumps({"kind": "consumer"}))
    for target in ("node-9", "consumer-1"):
        with pytest.raises(ControlRefused) as refused:
            await socket.flood(instructor_user, 10, target)
        assert refused.value.status == 404 and "target" in refused.value.reason
    assert await control_channel.published() == []


async def test_a_valid_scenario_reaches_the_control_channel(
    instructor_user, redis_client: redis.Redis, control_channel: ControlChannel
) -> None:
    """Each command is published with its checked fields and who asked."""
    redis_client.hset(keys.PROCESSES, "node-2", json.dumps({"kind": "node"}))
    for request in _requests()[:4]:
        await _handler(request)(instructor_user, request)
    commands = await control_channel.published()
    assert [c["type"] for c in commands] == [
        "overload.clients",
        "node.hog",
        "node.balloon",
        "node.shed",
    ]
    assert commands[0] | {"trace": ""} == {
        "type": "overload.clients", "count": 300, "target": "node-2", "seconds": 20,
        "by": instructor_user.get_username(), "trace": "",
    }  # fmt: skip
    assert (commands[3]["node"], commands[3]["percent"]) == ("node-2", 30)


async def test_the_reconnect_policy_is_written_for_every_client(
    instructor_user, redis_client: redis.Redis
) -> None:
    await socket.set_reconnect(instructor_user, {"policy": "exponential", "base_ms": 100})
    assert redis_client.hgetall(POLICY_KEY) == {
        b"policy": b"exponential",
        b"base_ms": b"100",
    }
    with pytest.raises(ControlRefused, match="cap_ms must be at least base_ms"):
        await socket.set_reconnect(instructor_user, {"policy": "fixed", "cap_ms": 50})


async def test_doubling_needs_a_running_traffic_generator(instructor_user, redis_client) -> None:
    with pytest.raises(ControlRefused) as refused:
        await socket.double_load(instructor_user, "on")
    assert (refused.value.status, refused.value.reason) == (
        503,
        "the traffic generator is not running",
    )


def _traffic(redis_client: redis.Redis, **extra: object) -> None:
    registration = Registration("traffic", "traffic", 1, "127.0.0.1", 0, 1.0)
    fields = {"up": True, "rate": 20.0, "work_ms": 50, "variance_ms": 5, "ws_clients": 0,
              "window_s": 5, "sent": 100, "ok": 90} | extra  # fmt: skip
    registry.register(redis_client, registration, Metrics(id="traffic", ts=1, extra=fields))


async def test_doubling_a_stopped_load_is_refused(instructor_user, redis_client) -> None:
    _traffic(redis_client, rate=0.0)
    with pytest.raises(ControlRefused) as refused:
        await socket.double_load(instructor_user, "on")
    assert refused.value.status == 409 and "rate 0" in refused.value.reason


async def test_limiter_off_doubles_the_load_and_restore_brings_everything_back(
    instructor_user, redis_client: redis.Redis, control_channel: ControlChannel
) -> None:
    """Off: every node's admission none and thresholds 100, twice the rate; switching to on
    while doubled keeps the same base; restore: the old rate and each node's own values."""
    await Node.objects.aupdate_or_create(
        name="node-1", defaults={"admission": "codel", "reject_above": 70, "shed_above": 90}
    )
    _traffic(redis_client)
    assert await socket.double_load(instructor_user, "off") == 40.0
    row = await Node.objects.aget(name="node-1")
    assert (row.admission, row.reject_above, row.shed_above) == ("none", 100, 100)
    await socket.double_load(instructor_user, "off")  # twice: the saved values stay the old ones
    _traffic(redis_client, rate=40.0)
    assert await socket.double_load(instructor_user, "on") == 40.0
    row = await Node.objects.aget(name="node-1")
    assert (row.admission, row.reject_above, row.shed_above) == ("codel", 70, 90)
    assert json.loads(redis_client.get(overload_keys.DOUBLE))["limiter"] == "on"
    await socket.restore_load(instructor_user)
    rates = [c["rate"] for c in await control_channel.published() if c["type"] == "traffic.set"]
    assert rates == [40.0, 40.0, 40.0, 20.0]
    assert redis_client.exists(overload_keys.DOUBLE, overload_keys.LIMITER_SAVED) == 0


async def test_the_shed_policy_is_set_on_every_node(instructor_user) -> None:
    for name in ("node-1", "node-2"):
        await Node.objects.aget_or_create(name=name)
    await socket.set_shed_policy(instructor_user, "oldest")
    assert {n.shed_policy async for n in Node.objects.all()} == {"oldest"}
