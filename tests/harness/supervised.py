"""Stand-ins registered as the supervisor's own children, so that the real path accepts them.

The balancer, the dashboard's ping, the traffic generator and the chat bots only use a
registration that matches the supervisor's record (archviz.core.registry.trusted); a test that
registers a stand-in, or starts a node without a lab, writes that record too (registry.vouch).
"""

import redis

from archviz.core import registry
from archviz.core.registry import Registration


def register_as_supervised(client: redis.Redis, registration: Registration) -> None:
    """Register (or refresh) `registration`, with the record a supervisor would keep of it."""
    r = registration
    registry.vouch(client, r.id, r.kind, r.pid, r.port)
    registry.register(client, r)
