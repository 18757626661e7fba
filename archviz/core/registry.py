"""The service registry in Redis: a hash per component that expires unless refreshed.

A component whose key expired is down. Nothing finds another component's address
anywhere but here.
"""

import json
from dataclasses import asdict, dataclass, field
from typing import Any

import redis

from archviz.core import keys
from archviz.trace.events import now_ms  # noqa: F401  (re-exported for components)

TTL_MS = 3_000
HEARTBEAT_INTERVAL_S = 0.5


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
    raw = client.hgetall(keys.registry(kind, component_id))
    return Registration.from_hash(raw) if raw else None


def registered(client: redis.Redis, kind: str = "*") -> list[Registration]:
    """Every live registration of a kind, sorted by id."""
    found = list(client.scan_iter(match=keys.registry_pattern(kind), count=200))
    if not found:
        return []
    pipe = client.pipeline(transaction=False)
    for key in found:
        pipe.hgetall(key)
    return sorted(
        (Registration.from_hash(raw) for raw in pipe.execute() if raw), key=lambda r: r.id
    )


def latest_metrics(client: redis.Redis, component_ids: list[str]) -> dict[str, Metrics]:
    if not component_ids:
        return {}
    raws = client.mget([keys.metrics(cid) for cid in component_ids])
    return {
        cid: Metrics.from_json(raw) for cid, raw in zip(component_ids, raws, strict=True) if raw
    }
