"""The lab's state tells pages the load balancer's port only for the supervisor's balancer:
the sessions and LB pages send their requests there."""

import os

import redis

from archviz.core import registry
from archviz.core.registry import Registration, now_ms
from archviz.dashboard.state import read_lab_state


def test_a_planted_balancer_is_not_in_the_state(redis_client: redis.Redis) -> None:
    """`lb` vouched for and a planted balancer beside it: the state has only the real one."""
    pid = os.getpid()
    registry.register(redis_client, Registration("lb", "balancer", pid, "127.0.0.1", 8100, 0))
    registry.vouch(redis_client, "lb", "balancer", pid, 8100)
    planted = Registration("zz-lb", "balancer", pid, "127.0.0.1", 6666, now_ms())
    registry.register(redis_client, planted)  # sorts after `lb`: it would have won
    assert read_lab_state(redis_client)["lb"]["port"] == 8100
    registry.deregister(redis_client, "balancer", "lb")
    assert read_lab_state(redis_client)["lb"] is None
