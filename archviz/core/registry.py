"""The service registry in Redis: a hash per component that expires unless refreshed.

A component whose key expired is down. Nothing finds another component's address
anywhere but here, and nothing sends a request to a registration before `trusted` (or
`trusted_lookup`) has checked it against the supervisor's own record of the children it
started (keys.PROCESSES): the same id, kind, pid and port, on one of this lab's own hosts.
Anyone who could write to Redis could otherwise point the balancer, the dashboard's ping,
the traffic generator or the chat bots at any address.
"""

import json
import logging
from dataclasses import asdict, dataclass, field
from typing import Any

import redis
from django.conf import settings

from archviz.core import keys
from archviz.trace.events import now_ms  # noqa: F401  (re-exported for components)

log = logging.getLogger(__name__)

TTL_MS = 3_000
HEARTBEAT_INTERVAL_S = 0.5
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True)
class Registration:
    id: str
    kind: str
    pid: int
    host: str
    port: int
    started_at: float  # unix ms
    status: str = "up"

    def to_hash(self) -> dict[str, str]:
        return {k: str(v) for k, v in asdict(self).items()}

    @classmethod
    def from_hash(cls, raw: dict[bytes, bytes]) -> "Registration":
        data = {k.decode(): v.decode() for k, v in raw.items()}
        return cls(
            id=data["id"],
            kind=data["kind"],
            pid=int(data["pid"]),
            host=data["host"],
            port=int(data["port"]),
            started_at=float(data["started_at"]),
            status=data.get("status", "up"),
        )

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass
class Metrics:
    """A component's latest metrics snapshot, as published with each heartbeat."""

    id: str
    ts: float  # unix ms when the heartbeat was sent
    connections: int = 0
    rps: float = 0.0
    rss_bytes: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, raw: bytes | str) -> "Metrics":
        return cls(**json.loads(raw))


def register(
    client: redis.Redis, registration: Registration, metrics: Metrics | None = None
) -> None:
    """Write (or refresh) a registration and its metrics, both expiring after TTL_MS."""
    key = keys.registry(registration.kind, registration.id)
    pipe = client.pipeline(transaction=True)
    pipe.hset(key, mapping=registration.to_hash())
    pipe.pexpire(key, TTL_MS)
    if metrics is not None:
        pipe.set(keys.metrics(registration.id), metrics.to_json(), px=TTL_MS)
    pipe.publish(keys.HEARTBEAT_CHANNEL, registration.id)
    pipe.execute()


def deregister(client: redis.Redis, kind: str, component_id: str) -> None:
    pipe = client.pipeline(transaction=True)
    pipe.delete(keys.registry(kind, component_id), keys.metrics(component_id))
    pipe.publish(keys.HEARTBEAT_CHANNEL, component_id)
    pipe.execute()


def lookup(client: redis.Redis, kind: str, component_id: str) -> Registration | None:
    """A registration as found, checked by nobody: `trusted_lookup` before a request."""
    return _parse(client.hgetall(keys.registry(kind, component_id)))


def registered(client: redis.Redis, kind: str = "*") -> list[Registration]:
    """Every live, well-formed registration of a kind, sorted by id (see `trusted`)."""
    found = list(client.scan_iter(match=keys.registry_pattern(kind), count=200))
    if not found:
        return []
    pipe = client.pipeline(transaction=False)
    for key in found:
        pipe.hgetall(key)
    parsed = (_parse(raw) for raw in pipe.execute())
    return sorted((r for r in parsed if r is not None), key=lambda r: r.id)


def _parse(raw: dict[bytes, bytes]) -> Registration | None:
    """A registration, or None for a missing or malformed hash (which nobody should read)."""
    if not raw:
        return None
    try:
        return Registration.from_hash(raw)
    except (KeyError, ValueError, UnicodeDecodeError):
        _log_once(("malformed", tuple(sorted(raw))), "ignored a malformed registration: %r", raw)
        return None


# --- checked against the supervisor's records -----------------------------------------


def lab_hosts() -> frozenset[str]:
    """Where this lab's own components listen: loopback, or ARCHVIZ_HOST."""
    return LOOPBACK | {settings.ARCHVIZ_HOST}


def distrust(registration: Registration, record: dict | None, hosts: frozenset[str]) -> str:
    """Why a registration is not the supervisor's child, in words; "" when it is (pure)."""
    if record is None:
        return "the supervisor has no record of it"
    expected = {"id": registration.id, "kind": registration.kind, "pid": registration.pid,
                "port": registration.port}  # fmt: skip
    for name, value in expected.items():
        recorded = record.get(name) or (0 if name == "port" else None)  # no port: 0
        if recorded != value:
            return f"its {name} is {value!r}, the supervisor's record says {recorded!r}"
    if registration.host not in hosts:
        return f"its host {registration.host!r} is not this lab's ({', '.join(sorted(hosts))})"
    return ""


def trusted(client: redis.Redis, kind: str) -> list[Registration]:
    """The live registrations of a kind that match the supervisor's records: only these get
    requests. The others are left out, each logged once."""
    return vet(client, registered(client, kind))


def trusted_lookup(client: redis.Redis, kind: str, component_id: str) -> Registration | None:
    """One registration if it matches the supervisor's record, else None (logged once)."""
    found = lookup(client, kind, component_id)
    return next(iter(vet(client, [found])), None) if found is not None else None


def vouch(client: redis.Redis, component_id: str, kind: str, pid: int, port: int) -> None:
    """Write the record the supervisor keeps of a child it started, for a process started
    without a supervisor (the tests' and the benchmarks' own nodes). A running supervisor
    replaces every record with its own on each tick."""
    record = {"id": component_id, "kind": kind, "pid": pid, "port": port, "status": "up"}
    client.hset(keys.PROCESSES, component_id, json.dumps(record))


def vet(client: redis.Redis, registrations: list[Registration]) -> list[Registration]:
    """The registrations that match the supervisor's records (the others logged once)."""
    if not registrations:
        return []
    raws = client.hmget(keys.PROCESSES, [r.id for r in registrations])
    hosts = lab_hosts()
    kept = []
    for registration, raw in zip(registrations, raws, strict=True):
        if why := distrust(registration, _record(raw), hosts):
            r = registration
            _log_once(
                (r.kind, r.id, r.pid, r.host, r.port, why),
                "ignored the registration of %s %s (pid %s at %s): %s",
                r.kind, r.id, r.pid, r.address, why,
            )  # fmt: skip
        else:
            kept.append(registration)
    return kept


def _record(raw: bytes | None) -> dict | None:
    try:
        record = json.loads(raw) if raw is not None else None
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


_logged: set[tuple] = set()
_LOGGED_MAX = 1_000  # a flood of planted entries must not grow this process's memory


def _log_once(key: tuple, message: str, *args: object) -> None:
    if key in _logged:
        return
    if len(_logged) >= _LOGGED_MAX:
        _logged.clear()
    _logged.add(key)
    log.warning(message, *args)


def latest_metrics(client: redis.Redis, component_ids: list[str]) -> dict[str, Metrics]:
    if not component_ids:
        return {}
    raws = client.mget([keys.metrics(cid) for cid in component_ids])
    return {
        cid: Metrics.from_json(raw) for cid, raw in zip(component_ids, raws, strict=True) if raw
    }
