"""registry.trusted: only a registration that matches the supervisor's record gets requests."""

import logging

import pytest
import redis

from archviz.core import keys, registry
from archviz.core.registry import Registration, distrust

HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "10.0.0.5"})


def _reg(component_id: str = "node-1", **changes) -> Registration:
    fields = {"kind": "node", "pid": 4242, "host": "127.0.0.1", "port": 8101, "started_at": 1.0}
    return Registration(component_id, **(fields | changes))


def _record(component_id: str = "node-1", **changes) -> dict:
    return {"id": component_id, "kind": "node", "pid": 4242, "port": 8101, "status": "up",
            "restarts": 0, "detail": "", "spec": {}} | changes  # fmt: skip


# --- the rule itself (pure) -----------------------------------------------------------


def test_a_registration_matching_the_supervisors_record_is_trusted() -> None:
    """Same id, kind, pid and port, on loopback or the lab's host: trusted (no reason)."""
    for host in ("127.0.0.1", "localhost", "::1", "10.0.0.5"):
        assert distrust(_reg(host=host), _record(), HOSTS) == ""


def test_a_component_without_a_port_matches_a_record_without_one() -> None:
    """The traffic generator registers port 0; the supervisor records no port (None)."""
    registration = _reg("traffic", kind="traffic", port=0)
    assert distrust(registration, _record("traffic", kind="traffic", port=None), HOSTS) == ""


@pytest.mark.parametrize(
    ("registration", "record", "reason"),
    [
        (_reg(), None, "the supervisor has no record of it"),
        (_reg(), _record("node-2"), "its id is 'node-1', the supervisor's record says 'node-2'"),
        (_reg(), _record(kind="consumer"), "its kind is 'node', the supervisor's record says"),
        (_reg(pid=999), _record(), "its pid is 999, the supervisor's record says 4242"),
        (_reg(), _record(pid=None), "its pid is 4242, the supervisor's record says None"),
        (_reg(port=6379), _record(), "its port is 6379, the supervisor's record says 8101"),
        (_reg(host="169.254.169.254"), _record(), "its host '169.254.169.254' is not this lab's"),
        (_reg(host="0.0.0.0"), _record(), "its host '0.0.0.0' is not this lab's"),
    ],
)
def test_any_difference_from_the_record_is_distrusted_and_said(
    registration: Registration, record: dict | None, reason: str
) -> None:
    """A planted entry (no record, wrong pid, port, kind or id, another host) says why."""
    assert distrust(registration, record, HOSTS).startswith(reason)


def test_the_labs_hosts_are_loopback_and_archviz_host(settings) -> None:
    """lab_hosts follows ARCHVIZ_HOST (a classroom's interface, or 0.0.0.0)."""
    settings.ARCHVIZ_HOST = "0.0.0.0"
    assert registry.lab_hosts() == {"127.0.0.1", "localhost", "::1", "0.0.0.0"}


# --- against the real Redis ------------------------------------------------------------


def test_trusted_keeps_the_vouched_and_leaves_out_the_planted(
    redis_client: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    """Planted entries (no record, wrong pid, wrong port, foreign host) are ignored, each
    logged once however often the registry is read; the supervisor's child is kept."""
    genuine = _reg("trust-genuine")
    planted = [
        _reg("trust-unknown"),
        _reg("trust-pid", pid=1),
        _reg("trust-port", port=6379),
        _reg("trust-host", host="192.0.2.7"),
    ]
    for r in [genuine, *planted]:
        registry.register(redis_client, r)
    registry.vouch(redis_client, genuine.id, "node", genuine.pid, genuine.port)
    for r in planted[1:]:  # the supervisor's real children of those names, elsewhere
        registry.vouch(redis_client, r.id, "node", 4242, 8101)
    with caplog.at_level(logging.WARNING, logger="archviz.core.registry"):
        for _ in range(3):
            assert registry.trusted(redis_client, "node") == [genuine]
    ignored = [m for m in caplog.messages if m.startswith("ignored the registration")]
    assert len(ignored) == len(planted)
    assert all(any(r.id in m for m in ignored) for r in planted)
    assert registry.trusted_lookup(redis_client, "node", "trust-genuine") == genuine
    assert registry.trusted_lookup(redis_client, "node", "trust-port") is None
    assert registry.trusted_lookup(redis_client, "node", "trust-absent") is None


def test_a_malformed_record_or_registration_is_ignored_not_fatal(
    redis_client: redis.Redis,
) -> None:
    """Nonsense in either hash is no reason to crash a balancer: it is left out."""
    registry.register(redis_client, _reg("trust-bad-record"))
    redis_client.hset(keys.PROCESSES, "trust-bad-record", "{not json")
    redis_client.hset(keys.registry("node", "trust-half"), mapping={"id": "trust-half"})
    redis_client.hset(keys.registry("node", "trust-nan"), mapping=_reg().to_hash() | {"pid": "x"})
    assert registry.trusted(redis_client, "node") == []
    assert [r.id for r in registry.registered(redis_client, "node")] == ["trust-bad-record"]
    assert registry.lookup(redis_client, "node", "trust-half") is None
