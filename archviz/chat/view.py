"""What the chat pages show, read from Redis only: mode, rooms, presence, ledger, bots."""

import json

import redis

from archviz.chat import keys as chat_keys
from archviz.chat.layers import group_channel
from archviz.chat.rooms import PRESENCE_TTL_MS, members_by_node, rooms_by_activity
from archviz.chat.store import LEDGER_FIELDS
from archviz.core import registry
from archviz.trace.events import now_ms

SHOWN_ROOMS = 20  # the most active rooms, of up to ROOMS_MAX


def read_chat_view(client: redis.Redis) -> dict:
    """The whole chat picture; raises redis.RedisError when Redis is unreachable."""
    pipe = client.pipeline(transaction=False)
    pipe.get(chat_keys.MODE)
    pipe.smembers(chat_keys.ROOMS)
    pipe.lrange(chat_keys.PRESENCE_LOG, 0, -1)
    pipe.get(chat_keys.BOTS_VIEW)
    pipe.zrange(chat_keys.ROOMS_LAST_MESSAGE, 0, -1, withscores=True)
    mode, rooms, presence, bots, last_message = pipe.execute()
    names = _most_active(client, [r.decode() for r in rooms], last_message)[:SHOWN_ROOMS]
    balancer = registry.trusted_lookup(client, "balancer", "lb")  # pages connect to its port
    return {
        "ts": now_ms(),
        "mode": mode.decode() if mode in (b"local", b"redis") else "redis",
        "rooms": [
            room_view(name, *raw)
            for name, raw in zip(names, _read_rooms(client, names), strict=False)
        ],
        "presence": [json.loads(p) for p in presence],
        "bots": json.loads(bots) if bots else None,
        "lb_port": balancer.port if balancer else None,
        "presence_ttl_ms": PRESENCE_TTL_MS,
    }


def _most_active(client: redis.Redis, names: list[str], last_message: list) -> list[str]:
    pipe = client.pipeline(transaction=False)
    for name in names:
        pipe.hlen(chat_keys.members(name))
    members = dict(zip(names, pipe.execute(), strict=True)) if names else {}
    return rooms_by_activity(members, {k.decode(): ts for k, ts in last_message})


def _read_rooms(client: redis.Redis, names: list[str]) -> list[tuple]:
    pipe = client.pipeline(transaction=False)
    for name in names:
        pipe.hgetall(chat_keys.members(name))
        pipe.zrange(chat_keys.seen(name), 0, -1, withscores=True)
        pipe.hgetall(chat_keys.ledger(name))
        pipe.get(chat_keys.seq(name))
        pipe.pubsub_numsub(group_channel(name))
    raw = pipe.execute()
    return [tuple(raw[i : i + 5]) for i in range(0, len(raw), 5)]


def room_view(name: str, members, seen, ledger, seq, numsub) -> dict:
    """One room (pure, from the raw Redis replies)."""
    last_seen = {k.decode(): score for k, score in seen}
    people = {k.decode(): json.loads(v) for k, v in members.items()}
    counts = {k.decode(): int(v) for k, v in ledger.items()}
    return {
        "name": name,
        "seq": int(seq or 0),
        "members": sorted(
            ({"conn": c, **info, "last_seen": last_seen.get(c)} for c, info in people.items()),
            key=lambda m: (m.get("user", ""), m["conn"]),
        ),
        "nodes": members_by_node(people),
        "redis_subscribers": numsub[0][1] if numsub else 0,
        "ledger": {f: counts.get(f, 0) for f in LEDGER_FIELDS},
    }
