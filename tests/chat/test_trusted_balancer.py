"""Where the chat bots connect, and the chat pages: only to the supervisor's own balancer."""

import os

import redis

from archviz.chat.management.commands.chatbots import BalancerTarget
from archviz.chat.view import read_chat_view
from archviz.core import registry
from archviz.core.registry import Registration, now_ms


def test_the_chat_bots_follow_only_the_supervisors_balancer(redis_client: redis.Redis) -> None:
    """A planted `lb` leaves the bots where they were; the supervisor's own moves them."""
    target = BalancerTarget()
    before = target()
    pid = os.getpid()
    registry.register(
        redis_client, Registration("lb", "balancer", pid, "127.0.0.1", 6666, now_ms())
    )
    target.refresh(redis_client)
    assert target() == before
    registry.vouch(redis_client, "lb", "balancer", pid, 6666)
    target.refresh(redis_client)
    assert target() == "http://127.0.0.1:6666"


def test_the_chat_page_is_told_only_the_supervisors_balancer_port(
    redis_client: redis.Redis,
) -> None:
    """Pages connect to lb_port: a planted `lb` (wrong pid) is not passed on to them."""
    pid = os.getpid()
    registry.register(redis_client, Registration("lb", "balancer", pid, "127.0.0.1", 6666, 0))
    registry.vouch(redis_client, "lb", "balancer", pid + 1, 6666)
    assert read_chat_view(redis_client)["lb_port"] is None
    registry.vouch(redis_client, "lb", "balancer", pid, 6666)
    assert read_chat_view(redis_client)["lb_port"] == 6666
