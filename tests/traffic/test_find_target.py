"""Where the traffic generator sends its clients: only to the supervisor's own load balancer
(or nodes), never to a planted registration."""

import os

import redis

from archviz.core import registry
from archviz.core.registry import Registration, now_ms
from archviz.traffic.generator import Target, find_target

PID = os.getpid()


def _register(client: redis.Redis, registration: Registration, *, vouched: bool) -> None:
    registry.register(client, registration)
    if vouched:
        r = registration
        registry.vouch(client, r.id, r.kind, r.pid, r.port)


def test_a_planted_balancer_is_passed_over_for_the_supervisors_nodes(
    redis_client: redis.Redis,
) -> None:
    """A balancer `lb` the supervisor did not start is ignored: the nodes it did start get it."""
    _register(redis_client, Registration("lb", "balancer", PID, "192.0.2.7", 80, now_ms()),
              vouched=False)  # fmt: skip
    _register(redis_client, Registration("node-1", "node", PID, "127.0.0.1", 8101, now_ms()),
              vouched=True)  # fmt: skip
    _register(redis_client, Registration("node-9", "node", PID, "127.0.0.1", 8109, now_ms()),
              vouched=False)  # fmt: skip
    assert find_target(redis_client) == Target("nodes", ("127.0.0.1:8101",))


def test_the_supervisors_balancer_is_the_target(redis_client: redis.Redis) -> None:
    """The vouched balancer takes the traffic; a forged pid on the same key would not."""
    lb = Registration("lb", "balancer", PID, "127.0.0.1", 8100, now_ms())
    _register(redis_client, lb, vouched=True)
    assert find_target(redis_client) == Target("lb", ("127.0.0.1:8100",))
    registry.register(redis_client, Registration("lb", "balancer", PID + 1, "127.0.0.1", 8100, 0))
    assert find_target(redis_client) == Target("nodes", ())
