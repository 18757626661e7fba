"""The gateway demo as the dashboard shows it: read from Redis only (one round trip for the
key ring, the bots and the auctions' latest updates), then built by pure functions."""

import json
import re
from typing import Any, NamedTuple

import redis

from archviz.core.registry import Metrics, Registration
from archviz.gateway import auction, compare
from archviz.gateway import keys as gateway_keys
from archviz.gateway.messages import (
    AuctionView,
    BotsView,
    CompareResult,
    GatewayView,
    KeyState,
    ReplicaView,
    ServiceKind,
    ServiceView,
    SigningKeyView,
    UpdateView,
)

RECENT_UPDATES = 10
SERVICE_KINDS: tuple[ServiceKind, ...] = ("auth", "catalog", "bidding")
COUNTED = ("issued", "accepted", "errors")  # a service's numbers worth a learner's look


class RingRead(NamedTuple):
    """What Redis holds of the key ring, the bots and the auctions, unparsed."""

    public_keys: dict[bytes, bytes]
    current_kid: bytes | None
    revoked: int
    expired_before: bytes | None
    bots_asked: bytes | None
    bots_view: bytes | None
    auctions: list[auction.Auction]
    updates: dict[str, list[tuple[bytes, dict[bytes, bytes]]]]  # XREVRANGE entries by auction
    compare: bytes | None = None  # the class's latest side-by-side (JSON)


def read_gateway(
    client: redis.Redis,
    records: dict[str, dict],
    registrations: list[Registration],
    metrics: dict[str, Metrics],
    now_ms: float,
) -> GatewayView:
    """The demo's picture now; raises redis.RedisError when Redis is unreachable."""
    return build_gateway(records, registrations, metrics, read_ring(client, now_ms), now_ms)


def read_ring(client: redis.Redis, now_ms: float) -> RingRead:
    found = auction.read_auctions(client)
    pipe = client.pipeline(transaction=False)
    pipe.hgetall(gateway_keys.PUBLIC_KEYS)
    pipe.get(gateway_keys.SIGNING_CURRENT)
    pipe.zcount(gateway_keys.REVOKED, now_ms / 1000, "+inf")
    pipe.get(gateway_keys.EXPIRED_BEFORE)
    pipe.get(gateway_keys.BOTS)
    pipe.get(gateway_keys.BOTS_VIEW)
    pipe.get(compare.LAST)
    for item in found:
        pipe.xrevrange(gateway_keys.auction_updates(item.id), count=RECENT_UPDATES)
    public, current, revoked, before, asked, view, last, *updates = pipe.execute()
    by_id = {item.id: entries for item, entries in zip(found, updates, strict=True)}
    return RingRead(public, current, int(revoked), before, asked, view, found, by_id, last)


def build_gateway(
    records: dict[str, dict],
    registrations: list[Registration],
    metrics: dict[str, Metrics],
    ring: RingRead,
    now_ms: float,
) -> GatewayView:
    """Merge the supervisor's records, the registry, the metrics and the ring (pure)."""
    listeners = _balancer_extra(registrations, metrics)
    gateway_listener = listeners.get("gateway_listener") or {}
    health = _health(gateway_listener)
    catalog_health = _health(listeners.get("services_listener") or {})
    return GatewayView(
        entry_port=_port(gateway_listener.get("port")),
        services_port=_port((listeners.get("services_listener") or {}).get("port")),
        replicas=[
            replica_view(i, records.get(i), metrics.get(i), health.get(i, "unknown"))
            for i in _ids("gateway", records, registrations)
        ],
        services=[
            service_view(i, kind, records.get(i), metrics.get(i), catalog_health.get(i, "unknown"))
            for kind in SERVICE_KINDS
            for i in _ids(kind, records, registrations)
        ],
        auctions=[auction_view(a, ring.updates.get(a.id, []), now_ms) for a in ring.auctions],
        keys=key_views(ring.public_keys, ring.current_kid, now_ms / 1000),
        revoked=ring.revoked,
        expired_before=_float(ring.expired_before),
        bots=bots_view(ring.bots_asked, ring.bots_view),
        compare=_compare(ring.compare),
    )


def _compare(raw: bytes | None) -> CompareResult | None:
    """The class's latest run as the dashboard stored it; None if absent or unreadable."""
    try:
        found = json.loads(raw) if raw else None
    except ValueError:
        return None
    return found if isinstance(found, dict) and "rows" in found else None


def _natural(name: str) -> list:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def _ids(kind: str, records: dict[str, dict], registrations: list[Registration]) -> list[str]:
    """The children of a kind the supervisor runs or that are registered, in natural order."""
    ids = {i for i, rec in records.items() if rec.get("kind") == kind}
    ids |= {r.id for r in registrations if r.kind == kind}
    return sorted(ids, key=_natural)


def _balancer_extra(registrations: list[Registration], metrics: dict[str, Metrics]) -> dict:
    for registration in registrations:
        if registration.kind == "balancer" and registration.id in metrics:
            return metrics[registration.id].extra
    return {}


def _health(listener: dict) -> dict[str, str]:
    """Each backend's health as a balancer listener checks it."""
    return {b.get("id"): b.get("health", "unknown") for b in listener.get("backends", [])}


def _port(value: object) -> int | None:
    valid = isinstance(value, int) and not isinstance(value, bool) and 0 < value < 65_536
    return value if valid else None  # type: ignore[return-value]


def _float(raw: bytes | None) -> float | None:
    try:
        return float(raw) if raw is not None else None
    except ValueError:
        return None


def _life(record: dict | None, metrics: Metrics | None) -> dict[str, Any]:
    """A child's life cycle: the supervisor's record, "up" once it sends heartbeats."""
    record = record or {}
    status = record.get("status") or ("up" if metrics else "down")
    if status == "starting" and metrics is not None:
        status = "up"  # it registered; the supervisor will agree on its next tick
    return {"status": status, "detail": record.get("detail", ""), "pid": record.get("pid"),
            "port": record.get("port"), "restarts": record.get("restarts", 0)}  # fmt: skip


def _counts(value: object) -> dict[str, int]:
    """A {name: count} dict from a heartbeat, keeping only whole numbers."""
    if not isinstance(value, dict):
        return {}
    return {str(k): v for k, v in value.items() if isinstance(v, int) and not isinstance(v, bool)}


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def replica_view(
    replica_id: str, record: dict | None, metrics: Metrics | None, health: str
) -> ReplicaView:
    extra = metrics.extra if metrics else {}
    return ReplicaView(
        id=replica_id,
        **_life(record, metrics),
        health=health,
        websockets=_int(extra.get("websockets")),
        subscriptions=_counts(extra.get("subscriptions")),
        requests=_counts(extra.get("requests")),
        denied=_counts(extra.get("denied")),
        token_errors=_counts(extra.get("token_errors")),
        reached=_counts(extra.get("reached")),
        closes=_counts(extra.get("closes")),
        retries=_int(extra.get("retries")),
        limiter_errors=_int(extra.get("limiter_errors")),
    )


def service_view(
    service_id: str,
    kind: ServiceKind,
    record: dict | None,
    metrics: Metrics | None,
    health: str = "unknown",
) -> ServiceView:
    extra = metrics.extra if metrics else {}
    counts = {name: _int(extra.get(name)) for name in COUNTED if name in extra}
    counts |= {f"refused:{k}": v for k, v in _counts(extra.get("refused")).items()}
    return ServiceView(
        id=service_id,
        kind=kind,
        **_life(record, metrics),
        health=health,
        rps=metrics.rps if metrics else 0.0,
        in_flight=metrics.connections if metrics else 0,
        counts=counts,
        reached_by_token=_counts(extra.get("reached_by_token")),
    )


def auction_view(
    found: auction.Auction, entries: list[tuple[bytes, dict[bytes, bytes]]], now_ms: float
) -> AuctionView:
    return AuctionView(
        id=found.id,
        title=found.title,
        start_cents=found.start_cents,
        highest_cents=found.highest_cents,
        bidder=found.bidder,
        seq=found.seq,
        ends_at_ms=found.ends_at_ms,
        closed=found.closed(now_ms),
        winner=found.winner(now_ms),
        recent=[u for u in (update_view(fields) for _id, fields in entries) if u is not None],
    )


def update_view(fields: dict[bytes, bytes]) -> UpdateView | None:
    """One stream entry as the page shows it; None for one that is not an update."""
    try:
        update = json.loads(fields[b"update"])
        return UpdateView(type=str(update["type"]), seq=int(update["seq"]),
                          amount_cents=int(update["amount_cents"]),
                          bidder=str(update["bidder"]), ts=int(update["ts"]))  # fmt: skip
    except (KeyError, ValueError, TypeError):
        return None


def key_views(
    records: dict[bytes, bytes], current: bytes | None, now_s: float
) -> list[SigningKeyView]:
    """Each published key's id and state, the newest first: never the key itself."""
    views = []
    for kid, raw in records.items():
        try:
            record = json.loads(raw)
            created, retire_at = record.get("created"), record.get("retire_at")
        except (ValueError, AttributeError):
            continue
        state = _key_state(kid == current, retire_at, now_s)
        views.append(
            SigningKeyView(kid=kid.decode(errors="replace"), state=state,
                           created=_number(created), retire_at=_number(retire_at))
        )  # fmt: skip
    return sorted(views, key=lambda v: v["created"] or 0, reverse=True)


def _key_state(is_current: bool, retire_at: object, now_s: float) -> KeyState:
    if is_current:
        return "current"
    if isinstance(retire_at, int | float) and retire_at > now_s:
        return "retiring"
    return "retired"


def _number(value: object) -> float | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    return float(value) if ok else None  # type: ignore[arg-type]


def bots_view(asked: bytes | None, raw_view: bytes | None) -> BotsView:
    try:
        view = json.loads(raw_view) if raw_view else {}
    except ValueError:
        view = {}
    view = view if isinstance(view, dict) else {}
    try:
        wanted = int(asked) if asked is not None else 0
    except ValueError:
        wanted = 0
    return BotsView(asked=wanted, running=_int(view.get("bots")),
                    connected=_int(view.get("connected")), bids=_int(view.get("bids")),
                    accepted=_int(view.get("accepted")), up=bool(view))  # fmt: skip
