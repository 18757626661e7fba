"""The instructor's mode switch in this process, on the real Redis: who may switch, what is
stored and what is sent."""

import pytest
import redis
from django.contrib.auth.models import AnonymousUser

from archviz.core.instructor import ControlRefused
from archviz.sessions import keys as sessions_keys
from archviz.sessions.switch import switch_mode
from tests.conftest import INSTRUCTOR
from tests.harness.clients import ControlChannel

pytestmark = pytest.mark.usefixtures("dashboard_emitter")  # the switch runs in the dashboard


async def test_a_learner_cannot_switch_and_the_mode_stays(
    redis_client: redis.Redis, control_channel: ControlChannel
) -> None:
    """Refused with 403 before anything is stored or sent."""
    redis_client.set(sessions_keys.MODE, "sticky")
    with pytest.raises(ControlRefused, match="only instructors") as refused:
        await switch_mode(AnonymousUser(), "local")
    assert refused.value.status == 403
    assert redis_client.get(sessions_keys.MODE) == b"sticky"
    assert await control_channel.published() == []


async def test_an_unknown_mode_is_refused_naming_the_modes(
    instructor_user, redis_client: redis.Redis, control_channel: ControlChannel
) -> None:
    """A mode that does not exist is a 400 listing the ones that do; nothing changes."""
    redis_client.set(sessions_keys.MODE, "sticky")
    with pytest.raises(ControlRefused, match="local, sticky, redis") as refused:
        await switch_mode(instructor_user, "disk")
    assert refused.value.status == 400
    assert redis_client.get(sessions_keys.MODE) == b"sticky"
    assert await control_channel.published() == []


async def test_a_switch_stores_the_mode_and_tells_the_nodes_and_the_balancer(
    instructor_user, redis_client: redis.Redis, control_channel: ControlChannel
) -> None:
    """Redis mode: stored, then session.mode for the nodes and round robin for the LB."""
    await switch_mode(instructor_user, "redis")
    assert redis_client.get(sessions_keys.MODE) == b"redis"
    sent = [
        {k: v for k, v in command.items() if k != "trace"}
        for command in await control_channel.published()
    ]
    assert sent == [
        {"type": "session.mode", "mode": "redis", "by": INSTRUCTOR},
        {"type": "lb.algorithm", "algorithm": "round_robin", "listener": "nodes", "by": INSTRUCTOR},
    ]


async def test_with_nobody_listening_the_mode_is_stored_for_the_nodes_to_read(
    instructor_user, redis_client: redis.Redis
) -> None:
    """No node subscribed: a clear 503, but the mode is stored, as nodes read it on their
    next heartbeat."""
    with pytest.raises(ControlRefused, match="nothing is listening") as refused:
        await switch_mode(instructor_user, "sticky")
    assert refused.value.status == 503
    assert redis_client.get(sessions_keys.MODE) == b"sticky"
