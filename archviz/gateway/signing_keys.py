"""The key ring in Redis, and what the gateway replicas keep of it.

The auth service holds the private keys (keys.SIGNING_PRIVATE) and signs with the current
one (keys.SIGNING_CURRENT). The public half of every key still accepted is in
keys.PUBLIC_KEYS, each with the time it is retired: `rotate()` makes a new current key and
gives the previous one a grace period (tokens signed just before still verify), after
which it is unknown. An instructor may also revoke one token (its jti, kept until the token
would have expired anyway) or expire every token issued so far (a watermark).

Each change is announced on keys.KEYS_CHANGED. A gateway replica's KeyFollower re-reads
the ring every REFRESH_S, or at once after a notice, so rotation and revocation apply on
every replica within a second, without a restart. Its cache logic is pure (clocks passed).
"""

import json
from collections.abc import Mapping
from typing import NamedTuple

import redis

from archviz.gateway import keys, tokens
from archviz.gateway.tokens import Claims, KeySet, Revocations, SigningKey
from archviz.gateway.verified import VerifiedTokens

GRACE_S = tokens.MAX_TTL_S  # a rotated-out key verifies every token it signed to its end
MAX_PUBLISHED_KEYS = 4  # the current one and the newest retiring ones
MAX_REVOKED = 10_000
REFRESH_S = 0.5
MAX_STALE_S = 5.0  # past this without a refresh a replica refuses to verify (503)


class RevocationRefused(ValueError):
    """A revocation that cannot be kept: a bad token id, or too many revoked already."""


# --- the ring, for the auth service --------------------------------------------------------


def _record(key: SigningKey, now: float, retire_at: float | None = None) -> str:
    return json.dumps({"jwk": key.public_jwk(), "created": now, "retire_at": retire_at})


def current_signing_key(client: redis.Redis, now: float) -> SigningKey:
    """The key new tokens are signed with; the first one is made when the ring is empty."""
    kid = None
    for _ in range(3):  # a rotation between the two reads deletes the old private key
        kid = client.get(keys.SIGNING_CURRENT)
        if kid is None:
            _install(client, SigningKey.generate(), now, grace_s=GRACE_S, only_if_empty=True)
            continue
        pem = client.hget(keys.SIGNING_PRIVATE, kid)
        if pem is not None:
            key = SigningKey.from_pem(pem)
            if key.kid != kid.decode():
                raise ValueError(f"the private key stored as {kid!r} is another key")
            return key
    raise RuntimeError(f"no private key is stored for the current key {kid!r}")


def rotate(client: redis.Redis, now: float, grace_s: float = GRACE_S) -> SigningKey:
    """Make a new current key; the previous one stays published for `grace_s` (0: refused at
    once, as after a leak) and signs nothing more."""
    if grace_s < 0:
        raise ValueError("grace_s must be 0 or more")
    key = SigningKey.generate()
    _install(client, key, now, grace_s=grace_s, only_if_empty=False)
    return key


def _install(client: redis.Redis, key: SigningKey, now: float, *, grace_s: float,
             only_if_empty: bool) -> None:  # fmt: skip
    """Make `key` current in one transaction (retried if another rotation came first)."""

    def write(pipe: redis.client.Pipeline) -> None:
        previous = pipe.get(keys.SIGNING_CURRENT)
        if previous is not None and only_if_empty:
            return
        records = pipe.hgetall(keys.PUBLIC_KEYS)
        pipe.multi()
        pipe.hset(keys.SIGNING_PRIVATE, key.kid, key.pem())
        pipe.hset(keys.PUBLIC_KEYS, key.kid, _record(key, now))
        pipe.set(keys.SIGNING_CURRENT, key.kid)
        if previous is not None:
            pipe.hdel(keys.SIGNING_PRIVATE, previous)  # a retiring key only verifies
            _retire(pipe, records.get(previous), now + grace_s)
        dropped = _dropped(records, previous, now)
        if dropped:
            pipe.hdel(keys.PUBLIC_KEYS, *dropped)
            pipe.hdel(keys.SIGNING_PRIVATE, *dropped)
        pipe.publish(keys.KEYS_CHANGED, "rotate")

    client.transaction(write, keys.SIGNING_CURRENT, keys.PUBLIC_KEYS)


def _retire(pipe: redis.client.Pipeline, raw: bytes | None, retire_at: float) -> None:
    try:
        record = json.loads(raw) if raw is not None else None
        kid = record["jwk"]["kid"]
    except (ValueError, TypeError, KeyError):
        return  # nothing usable to keep published: _dropped removes it
    pipe.hset(keys.PUBLIC_KEYS, kid, json.dumps({**record, "retire_at": retire_at}))


def _dropped(records: Mapping[bytes, bytes], previous: bytes | None, now: float) -> list[bytes]:
    """The published keys to delete as a new one comes in: retired ones, unreadable ones,
    and past MAX_PUBLISHED_KEYS the oldest (never the previous current one)."""
    kept: list[tuple[float, bytes]] = []
    dropped = []
    for kid, raw in records.items():
        created, retire_at = _times(raw)
        if created is None:
            dropped.append(kid)
        elif kid == previous:
            continue  # retiring now: kept for its grace period
        elif retire_at is not None and retire_at <= now:
            dropped.append(kid)
        else:
            kept.append((created, kid))
    kept.sort(reverse=True)
    dropped += [kid for _, kid in kept[MAX_PUBLISHED_KEYS - 2 :]]  # room: new + previous
    return dropped


def _times(raw: bytes) -> tuple[float | None, float | None]:
    try:
        record = json.loads(raw)
        return float(record["created"]), _optional_float(record["retire_at"])
    except (ValueError, TypeError, KeyError):
        return None, None


def _optional_float(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError("not a number")
    return float(value)


def jwks(client: redis.Redis, now: float) -> dict[str, list[dict[str, str]]]:
    """The public keys accepted at `now` as an RFC 7517 JWK Set (GET /auth/jwks.json)."""
    live = []
    for kid, raw in client.hgetall(keys.PUBLIC_KEYS).items():
        created, retire_at = _times(raw)
        jwk = json.loads(raw).get("jwk") if created is not None else None
        if isinstance(jwk, dict) and (retire_at is None or now < retire_at):
            live.append((created, kid, jwk))
    live.sort(key=lambda entry: entry[:2], reverse=True)  # the newest (current) first
    return {"keys": [jwk for _, _, jwk in live]}


# --- revocation -----------------------------------------------------------------------------


def revoke(client: redis.Redis, jti: str, now: float, exp: float | None = None) -> None:
    """Refuse the token with this id from now on; it is forgotten once it would have expired
    anyway (`exp`; unknown: the longest a token lives)."""
    if not isinstance(jti, str) or not tokens.JTI.fullmatch(jti):
        raise RevocationRefused("a token id is 16-64 letters, digits, _ or -")
    until = now + tokens.MAX_TTL_S if exp is None else min(exp, now + tokens.MAX_TTL_S)
    pipe = client.pipeline(transaction=True)
    pipe.zremrangebyscore(keys.REVOKED, "-inf", now - tokens.LEEWAY_S)
    pipe.zcard(keys.REVOKED)
    _, count = pipe.execute()
    if count >= MAX_REVOKED:
        raise RevocationRefused(f"{MAX_REVOKED} tokens are revoked already: expire them all")
    pipe.zadd(keys.REVOKED, {jti: until + tokens.LEEWAY_S})
    pipe.publish(keys.KEYS_CHANGED, "revoke")
    pipe.execute()


def expire_all(client: redis.Redis, now: float) -> None:
    """Refuse every token issued before `now`. The watermark is kept as long as a token can
    live: after that every token it refuses has expired by itself."""
    pipe = client.pipeline(transaction=True)
    pipe.set(keys.EXPIRED_BEFORE, repr(now), px=int((tokens.MAX_TTL_S + 60) * 1000))
    pipe.publish(keys.KEYS_CHANGED, "expire-all")
    pipe.execute()


# --- what a gateway replica keeps ---------------------------------------------------------


class Snapshot(NamedTuple):
    """The ring as read from Redis, unparsed: public key records, revoked ids, watermark."""

    records: dict[bytes, bytes]
    revoked: list[bytes]
    expired_before: bytes | None


def read_snapshot(client: redis.Redis, now: float) -> Snapshot:
    """One round trip: everything a replica needs to verify tokens."""
    pipe = client.pipeline(transaction=False)
    pipe.hgetall(keys.PUBLIC_KEYS)
    pipe.zrangebyscore(keys.REVOKED, now, "+inf", start=0, num=MAX_REVOKED)
    pipe.get(keys.EXPIRED_BEFORE)
    return Snapshot(*pipe.execute())


def key_set(records: Mapping[bytes, bytes]) -> KeySet:
    """The published records as a key set (each key with its retire time); ValueError if
    any record is not one the ring writes."""
    jwk_list, retire_at = [], {}
    for kid, raw in records.items():
        try:
            record = json.loads(raw)
            jwk, until = record["jwk"], _optional_float(record["retire_at"])
        except (ValueError, TypeError, KeyError):
            raise ValueError(f"the record of key {kid[:16]!r} is unreadable") from None
        if not isinstance(jwk, dict) or jwk.get("kid") != kid.decode(errors="replace"):
            raise ValueError(f"the record of key {kid[:16]!r} holds another key")
        jwk_list.append(jwk)
        if until is not None:
            retire_at[jwk["kid"]] = until
    return KeySet.from_jwks({"keys": jwk_list}, retire_at)


def revocations(revoked: list[bytes], expired_before: bytes | None) -> Revocations:
    """The revoked ids and the watermark; ValueError for a watermark that is not a time."""
    jtis = frozenset(jti.decode(errors="replace") for jti in revoked)
    if expired_before is None:
        return Revocations(jtis)
    watermark = float(expired_before)
    if watermark != watermark or watermark in (float("inf"), float("-inf")):
        raise ValueError("the watermark is not a time")
    return Revocations(jtis, watermark)


class KeysUnavailable(Exception):
    """The replica has no key set, or has not heard from Redis for too long to know of
    revocations: it refuses to verify (the gateway answers 503, naming auth)."""


class KeyFollower:
    """A replica's copy of the ring: re-read every `interval_s` (sooner after
    `mark_stale()`, on a KEYS_CHANGED notice). A bad read keeps the last good copy."""

    def __init__(self, interval_s: float = REFRESH_S, max_stale_s: float = MAX_STALE_S) -> None:
        self.interval_s = interval_s
        self.max_stale_s = max_stale_s
        self.keys: KeySet | None = None
        self.revocations = Revocations()
        self.error = ""  # why the last refresh failed, "" when it did not
        self.verified = VerifiedTokens()  # re-checked on each use against the copy's state
        self._records: dict[bytes, bytes] | None = None
        self._heard_at: float | None = None  # monotonic, the last good read
        self._next_at = 0.0

    def due(self, mono: float) -> bool:
        return mono >= self._next_at

    def mark_stale(self) -> None:
        """Something changed: refresh at the next chance, whatever the interval says."""
        self._next_at = 0.0

    def fresh(self, mono: float) -> bool:
        return self._heard_at is not None and mono - self._heard_at <= self.max_stale_s

    def apply(self, snapshot: Snapshot, mono: float) -> None:
        """Take a snapshot read at `mono` (pure); the key set is parsed only if it changed."""
        self._next_at = mono + self.interval_s
        errors = []
        if snapshot.records != self._records:
            try:
                self.keys = key_set(snapshot.records)
                self._records = snapshot.records
            except ValueError as error:
                errors.append(f"bad key set in Redis: {error}")
        try:
            self.revocations = revocations(snapshot.revoked, snapshot.expired_before)
        except ValueError as error:
            errors.append(f"bad revocations in Redis: {error}")
        self.error = "; ".join(errors)
        if not errors:
            self._heard_at = mono

    def failed(self, error: str, mono: float) -> None:
        """A read that did not happen: keep the copy, try again after the interval."""
        self.error = error
        self._next_at = mono + self.interval_s

    def refresh(self, client: redis.Redis, mono: float, now: float) -> bool:
        """Re-read the ring if it is due (I/O); whether a snapshot was taken."""
        if not self.due(mono):
            return False
        try:
            snapshot = read_snapshot(client, now)
        except redis.RedisError as error:
            self.failed(f"Redis is unreachable: {error}", mono)
            return False
        self.apply(snapshot, mono)
        return True

    def verify(self, token: str | None, *, now: float, mono: float) -> Claims:
        """tokens.verify with this copy; KeysUnavailable when the copy cannot be trusted."""
        if self.keys is None or not self.fresh(mono):
            raise KeysUnavailable(self.error or "no key set read from Redis yet")
        return self.verified.verify(token, self.keys, now=now, revocations=self.revocations)
