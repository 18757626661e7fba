"""A class in Redis, so that every dashboard process (there may be several) sees the same one.

One class at a time per lab. Its state (where the instructor is, pause, the question) is one
JSON value, changed in a transaction and published whole on CHANNEL after each change: every
tab gets the full picture, so a missed frame is mended by the next. Members are known by a
random token kept in their own Django session; the frames carry no names and no join code.
"""

import json
import secrets
import time
from collections.abc import Callable

import redis

from archviz.classroom import keys
from archviz.classroom.rules import BadInput, new_code, roster, tally

TTL_S = 4 * 3600  # a class nobody ends goes away; every instructor action renews it
SEEN_TTL_S = 120


def _now_ms() -> int:
    return int(time.time() * 1000)


def start(client: redis.Redis, by: str) -> dict:
    """The running class, or a new one with a fresh join code."""
    if (running := current(client)) is not None:
        return running
    class_id = secrets.token_hex(8)
    code = new_code()
    while not client.set(keys.code(code), class_id, nx=True, ex=TTL_S):
        code = new_code()  # taken by another class's code still alive: draw again
    state = {"id": class_id, "seq": 0, "where": None, "highlight": None, "paused": False,
             "poll": None}  # fmt: skip
    pipe = client.pipeline()
    pipe.hset(keys.info(class_id), mapping={"code": code, "by": by, "state": json.dumps(state)})
    pipe.expire(keys.info(class_id), TTL_S)
    pipe.set(keys.CURRENT, class_id, ex=TTL_S)
    pipe.execute()
    _publish(client, state)
    return state | {"code": code}


def current(client: redis.Redis) -> dict | None:
    """The running class's state with its join code, or None."""
    class_id = client.get(keys.CURRENT)
    if class_id is None:
        return None
    return state_of(client, class_id.decode(), with_code=True)


def state_of(client: redis.Redis, class_id: str, *, with_code: bool = False) -> dict | None:
    code, raw = client.hmget(keys.info(class_id), "code", "state")
    if raw is None:
        return None
    state = json.loads(raw)
    return state | {"code": code.decode()} if with_code else state


def end(client: redis.Redis) -> None:
    running = current(client)
    if running is None:
        return
    class_id = running["id"]
    client.delete(
        keys.CURRENT, keys.code(running["code"]), keys.info(class_id), keys.members(class_id),
        keys.seen(class_id), keys.answers(class_id),
    )  # fmt: skip
    client.publish(keys.CHANNEL, json.dumps({"type": "class", "state": None, "ended": class_id}))


def join(client: redis.Redis, code: str, name: str) -> tuple[str, str]:
    """(class id, the new member's token) for a valid code; BadInput when it is not."""
    class_id = client.get(keys.code(code))
    if class_id is None or client.get(keys.CURRENT) != class_id:
        raise BadInput(f"no class has the code {code}: it may have ended; ask for the code again")
    class_id = class_id.decode()
    token = secrets.token_urlsafe(16)
    pipe = client.pipeline()
    pipe.hset(keys.members(class_id), token, name)
    pipe.expire(keys.members(class_id), TTL_S)
    pipe.hset(keys.seen(class_id), token, json.dumps({"mode": "follow", "ms": _now_ms()}))
    pipe.expire(keys.seen(class_id), TTL_S)
    pipe.execute()
    return class_id, token


def member_name(client: redis.Redis, class_id: str, token: str) -> str | None:
    name = client.hget(keys.members(class_id), token)
    return name.decode() if name is not None else None


def require_member(client: redis.Redis, class_id: str, token: str) -> None:
    if not isinstance(token, str) or member_name(client, class_id, token) is None:
        raise BadInput("you are not in this class (it may have ended): join it again")


def heartbeat(client: redis.Redis, class_id: str, token: str, mode: str) -> None:
    require_member(client, class_id, token)
    client.hset(keys.seen(class_id), token, json.dumps({"mode": mode, "ms": _now_ms()}))


def leave(client: redis.Redis, class_id: str, token: str) -> None:
    client.hdel(keys.members(class_id), token)
    client.hdel(keys.seen(class_id), token)
    client.hdel(keys.answers(class_id), token)


def roster_of(client: redis.Redis, class_id: str) -> list[dict]:
    names = {t.decode(): n.decode() for t, n in client.hgetall(keys.members(class_id)).items()}
    seen = {t.decode(): json.loads(s) for t, s in client.hgetall(keys.seen(class_id)).items()}
    return roster(names, seen, _now_ms())


def update(client: redis.Redis, class_id: str, change: Callable[[dict], dict]) -> dict:
    """Apply `change` to the class's state atomically (every dashboard may write), publish it."""
    key = keys.info(class_id)
    with client.pipeline() as pipe:
        while True:
            try:
                pipe.watch(key)
                raw = pipe.hget(key, "state")
                if raw is None:
                    raise BadInput("the class has ended: start a new one")
                state = change(json.loads(raw))
                state["seq"] += 1
                pipe.multi()
                pipe.hset(key, "state", json.dumps(state))
                for renewed in (key, keys.CURRENT, keys.members(class_id), keys.seen(class_id)):
                    pipe.expire(renewed, TTL_S)
                pipe.execute()
                break
            except redis.WatchError:
                continue
    _publish(client, state)
    return state


def answer(client: redis.Redis, class_id: str, token: str, choice: int) -> None:
    require_member(client, class_id, token)
    state = state_of(client, class_id)
    poll = state and state["poll"]
    if not poll or poll["state"] != "open":
        raise BadInput("no question is open: wait for the instructor to ask one")
    if not 0 <= choice < len(poll["choices"]):
        raise BadInput("choice must be the number of an answer")
    client.hset(keys.answers(class_id), token, choice)
    client.expire(keys.answers(class_id), TTL_S)


def clear_answers(client: redis.Redis, class_id: str) -> None:
    client.delete(keys.answers(class_id))


def counts(client: redis.Redis, class_id: str, choices: list[str]) -> list[int]:
    return tally(choices, [int(v) for v in client.hvals(keys.answers(class_id))])


def answered(client: redis.Redis, class_id: str) -> int:
    return client.hlen(keys.answers(class_id))


def public(state: dict) -> dict:
    """The state as every tab may see it: no join code, no figures kept for the reveal."""
    shown = {k: v for k, v in state.items() if k not in ("at_start", "code")}
    if shown.get("poll"):
        shown["poll"] = {k: v for k, v in shown["poll"].items() if k != "at_start"}
    return shown


def public_frame(client: redis.Redis, class_id: str) -> dict:
    state = state_of(client, class_id)
    if state is None:
        raise BadInput("the class has ended")
    return {"type": "class", "state": public(state)}


def _publish(client: redis.Redis, state: dict) -> None:
    client.publish(keys.CHANNEL, json.dumps({"type": "class", "state": public(state)}))
