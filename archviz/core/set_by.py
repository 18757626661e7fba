"""Who last set each piece of the lab's shared state, and from which page or lesson.

The pages share one traffic generator, one set of node settings and the lab's modes: a
change made on one page shows on the others, which say who made it and where. Written by
the lab socket's dispatch (labsocket.py) after a handler succeeds; read into the state frame.
"""

import json
import re
import time

import redis

from archviz.core import keys

WHATS = (
    "traffic",
    "nodes",
    "lb.algorithm",
    "chat.mode",
    "chat.bots",
    "session.mode",
    "queue.consumers",
    "overload",
    "gateway",
)
PAGE = re.compile(r"/[A-Za-z0-9/_.-]{0,80}")  # a path of the dashboard, as a page sends it
MAX_LESSON_CHARS = 80


def page_or_blank(raw: str) -> str:
    """`raw` when it is a short path of the dashboard, else "" (where unknown)."""
    return raw if PAGE.fullmatch(raw) else ""


def lesson_page(name: str) -> str:
    """What a lesson's changes say they were set from."""
    return f"lesson: {name[:MAX_LESSON_CHARS]}"


def record(client: redis.Redis, what: str, by: str, page: str) -> None:
    """Say that `by` (a user name) set `what` (one of WHATS) just now, from `page`."""
    if what not in WHATS:
        raise ValueError(f"unknown shared state {what!r}; use one of {WHATS}")
    entry = {"by": by, "page": page, "ts": round(time.time() * 1000)}
    client.hset(keys.SET_BY, what, json.dumps(entry))


def read(client: redis.Redis) -> dict[str, dict]:
    """what -> {by, page, ts (unix ms)}, for what has been set since Redis started."""
    found = {}
    for what, raw in client.hgetall(keys.SET_BY).items():
        try:
            entry = json.loads(raw)
        except ValueError:
            continue  # not ours: Redis is shared with whoever can write to it
        if isinstance(entry, dict) and what.decode() in WHATS:
            found[what.decode()] = {k: entry.get(k) for k in ("by", "page", "ts")}
    return found
