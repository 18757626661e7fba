"""The service registry against a real Redis."""

import redis

from archviz.core import keys, registry
from archviz.core.registry import Metrics, Registration


def _registration(component_id: str = "node-1", kind: str = "node") -> Registration:
    return Registration(component_id, kind, pid=4242, host="127.0.0.1", port=9001, started_at=1.5)


def test_registered_component_can_be_looked_up(redis_client: redis.Redis):
    """After register, lookup and registered() both return the registration."""
    reg = _registration()
    registry.register(redis_client, reg)
    assert registry.lookup(redis_client, "node", "node-1") == reg
    assert registry.registered(redis_client) == [reg]


def test_lookup_of_unknown_component_is_none(redis_client: redis.Redis):
    """Nothing registered under that id: lookup returns None."""
    assert registry.lookup(redis_client, "node", "node-404") is None
    assert registry.registered(redis_client) == []


def test_registration_and_metrics_expire_within_ttl(redis_client: redis.Redis):
    """Both keys carry a TTL of at most TTL_MS, so a silent component disappears."""
    registry.register(redis_client, _registration(), Metrics(id="node-1", ts=1.0))
    for key in (keys.registry("node", "node-1"), keys.metrics("node-1")):
        ttl = redis_client.pttl(key)
        assert 0 < ttl <= registry.TTL_MS


def test_deregister_removes_registration_and_metrics(redis_client: redis.Redis):
    """deregister deletes the registry hash and the metrics snapshot."""
    registry.register(redis_client, _registration(), Metrics(id="node-1", ts=1.0))
    registry.deregister(redis_client, "node", "node-1")
    assert registry.lookup(redis_client, "node", "node-1") is None
    assert registry.latest_metrics(redis_client, ["node-1"]) == {}


def test_latest_metrics_round_trips(redis_client: redis.Redis):
    """Metrics written with a heartbeat come back equal; missing ids are left out."""
    metrics = Metrics(
        id="node-1", ts=123.5, connections=3, rps=7.25, rss_bytes=1024, extra={"weight": 2}
    )
    registry.register(redis_client, _registration(), metrics)
    assert registry.latest_metrics(redis_client, ["node-1", "node-2"]) == {"node-1": metrics}
    assert registry.latest_metrics(redis_client, []) == {}


def test_registered_filters_by_kind_and_sorts_by_id(redis_client: redis.Redis):
    """registered(kind) returns only that kind, sorted by id."""
    for component_id in ("node-b", "node-c", "node-a"):
        registry.register(redis_client, _registration(component_id))
    registry.register(redis_client, _registration("dash-1", kind="dashboard"))
    assert [r.id for r in registry.registered(redis_client, "node")] == [
        "node-a",
        "node-b",
        "node-c",
    ]
    assert [r.id for r in registry.registered(redis_client, "dashboard")] == ["dash-1"]
    assert len(registry.registered(redis_client)) == 4


def test_registration_hash_round_trip():
    """to_hash then from_hash (as Redis returns bytes) gives the same Registration."""
    reg = Registration("node-7", "node", 99, "10.0.0.2", 8123, 1700000000123.25, status="up")
    raw = {k.encode(): v.encode() for k, v in reg.to_hash().items()}
    assert Registration.from_hash(raw) == reg
    assert reg.address == "10.0.0.2:8123"
