"""The key ring in the real Redis: the first key, rotation with a grace period, the JWKS,
revocation and "expire every token", and the replicas' KeyFollower that applies them."""

import json
import threading

import pytest
import redis

from archviz.core.redis_conn import sync_client
from archviz.gateway import keys, signing_keys, tokens
from archviz.gateway.signing_keys import KeyFollower, KeysUnavailable, RevocationRefused
from archviz.gateway.tokens import TokenError

NOW = 1_700_000_000.0
JTI = "jti-0123456789abcdef"


def _follower(client: redis.Redis, now: float = NOW, mono: float = 0.0) -> KeyFollower:
    follower = KeyFollower()
    assert follower.refresh(client, mono, now)
    return follower


def _error(follower: KeyFollower, token: str, now: float, mono: float = 0.0) -> str:
    with pytest.raises(TokenError) as refused:
        follower.verify(token, now=now, mono=mono)
    return refused.value.error


# --- the ring ------------------------------------------------------------------------------


def test_the_first_key_is_made_once_and_stays_current(redis_client: redis.Redis) -> None:
    """An empty ring gets a key; asking again returns the same one, from its stored PEM."""
    key = signing_keys.current_signing_key(redis_client, NOW)
    again = signing_keys.current_signing_key(redis_client, NOW + 1)
    assert (again.kid, again.pem()) == (key.kid, key.pem())
    assert redis_client.get(keys.SIGNING_CURRENT).decode() == key.kid
    assert redis_client.hget(keys.SIGNING_PRIVATE, key.kid).startswith(b"-----BEGIN PRIVATE")
    assert signing_keys.jwks(redis_client, NOW) == {"keys": [key.public_jwk()]}


def test_auth_processes_starting_together_agree_on_one_first_key(redis_url: str) -> None:
    """Four clients racing on an empty ring all get the same key (WATCH'd transaction)."""
    kids: list[str] = []
    start = threading.Barrier(4)

    def ask() -> None:
        client = sync_client(redis_url)
        start.wait()
        kids.append(signing_keys.current_signing_key(client, NOW).kid)

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(kids) == 4 and len(set(kids)) == 1
    assert len(signing_keys.jwks(sync_client(redis_url), NOW)["keys"]) == 1


def test_rotation_makes_a_new_current_key_and_retires_the_old_after_the_grace(
    redis_client: redis.Redis,
) -> None:
    """The new key signs; the old one is published until now + grace and signs no more."""
    old = signing_keys.current_signing_key(redis_client, NOW)
    new = signing_keys.rotate(redis_client, NOW + 10, grace_s=60)
    assert new.kid != old.kid
    assert signing_keys.current_signing_key(redis_client, NOW + 10).kid == new.kid
    assert redis_client.hget(keys.SIGNING_PRIVATE, old.kid) is None
    published = signing_keys.jwks(redis_client, NOW + 69.9)["keys"]
    assert [k["kid"] for k in published] == [new.kid, old.kid]  # the current one first
    assert signing_keys.jwks(redis_client, NOW + 70) == {"keys": [new.public_jwk()]}


def test_a_token_signed_just_before_a_rotation_verifies_during_the_grace(
    redis_client: redis.Redis,
) -> None:
    """The gateways follow the rotation: old tokens pass until the grace ends (unknown_key
    after), new tokens pass at once."""
    old = signing_keys.current_signing_key(redis_client, NOW)
    before = tokens.issue("ada", "viewer", old, NOW)
    new = signing_keys.rotate(redis_client, NOW + 1, grace_s=30)
    after = tokens.issue("ada", "viewer", new, NOW + 1)
    follower = _follower(redis_client, NOW + 1)
    assert follower.verify(before, now=NOW + 30.9, mono=0)["sub"] == "ada"
    assert follower.verify(after, now=NOW + 2, mono=0)["sub"] == "ada"
    assert _error(follower, before, NOW + 31) == "unknown_key"


def test_a_rotation_without_grace_refuses_the_old_key_at_once(redis_client: redis.Redis) -> None:
    """grace 0, as after a leaked key: every token it signed is an unknown key."""
    old = signing_keys.current_signing_key(redis_client, NOW)
    token = tokens.issue("ada", "viewer", old, NOW)
    signing_keys.rotate(redis_client, NOW + 1, grace_s=0)
    assert _error(_follower(redis_client, NOW + 1), token, NOW + 1) == "unknown_key"
    with pytest.raises(ValueError, match="grace_s"):
        signing_keys.rotate(redis_client, NOW, grace_s=-1)


def test_many_rotations_keep_only_a_few_published_keys(redis_client: redis.Redis) -> None:
    """Rotating again and again publishes at most MAX_PUBLISHED_KEYS, the newest; the
    retired ones are deleted from Redis, public and private."""
    made = [signing_keys.current_signing_key(redis_client, NOW)]
    made += [signing_keys.rotate(redis_client, NOW + i) for i in range(1, 8)]
    published = [k["kid"] for k in signing_keys.jwks(redis_client, NOW + 8)["keys"]]
    assert published == [k.kid for k in reversed(made)][: signing_keys.MAX_PUBLISHED_KEYS]
    assert redis_client.hlen(keys.PUBLIC_KEYS) == signing_keys.MAX_PUBLISHED_KEYS
    assert redis_client.hkeys(keys.SIGNING_PRIVATE) == [made[-1].kid.encode()]


def test_keys_past_their_grace_are_deleted_at_the_next_rotation(redis_client: redis.Redis) -> None:
    """A retired key's record does not outlive the next rotation."""
    first = signing_keys.current_signing_key(redis_client, NOW)
    signing_keys.rotate(redis_client, NOW + 1, grace_s=5)
    signing_keys.rotate(redis_client, NOW + 10, grace_s=5)
    assert not redis_client.hexists(keys.PUBLIC_KEYS, first.kid)


def test_the_jwks_leaves_out_unreadable_records(redis_client: redis.Redis) -> None:
    """A broken or planted record is not served as a key."""
    key = signing_keys.current_signing_key(redis_client, NOW)
    planted = {
        "a": "{",
        "b": '{"created": 1, "retire_at": null}',
        "c": '{"jwk": 7, "created": 1, "retire_at": null}',
    }
    redis_client.hset(keys.PUBLIC_KEYS, mapping=planted)
    assert signing_keys.jwks(redis_client, NOW) == {"keys": [key.public_jwk()]}


def test_the_jwks_has_no_private_part(redis_client: redis.Redis) -> None:
    """Only kty, crv, x, kid, use and alg are published."""
    signing_keys.current_signing_key(redis_client, NOW)
    signing_keys.rotate(redis_client, NOW + 1)
    for jwk in signing_keys.jwks(redis_client, NOW + 2)["keys"]:
        assert set(jwk) == {"kty", "crv", "x", "kid", "use", "alg"}


def test_a_stored_private_key_that_is_not_the_current_kid_is_refused(
    redis_client: redis.Redis,
) -> None:
    """A planted PEM under the current kid is not signed with."""
    key = signing_keys.current_signing_key(redis_client, NOW)
    redis_client.hset(keys.SIGNING_PRIVATE, key.kid, tokens.SigningKey.generate().pem())
    with pytest.raises(ValueError, match="is another key"):
        signing_keys.current_signing_key(redis_client, NOW)


def test_a_current_kid_without_its_private_key_is_an_error(redis_client: redis.Redis) -> None:
    """The auth service says so rather than signing with nothing."""
    redis_client.set(keys.SIGNING_CURRENT, "lost-key")
    with pytest.raises(RuntimeError, match="no private key"):
        signing_keys.current_signing_key(redis_client, NOW)


def test_every_change_is_announced(redis_client: redis.Redis) -> None:
    """Rotation, revocation and expire-all each publish on KEYS_CHANGED."""
    pubsub = redis_client.pubsub()
    pubsub.subscribe(keys.KEYS_CHANGED)
    assert pubsub.get_message(timeout=1)["type"] == "subscribe"
    signing_keys.current_signing_key(redis_client, NOW)
    signing_keys.rotate(redis_client, NOW + 1)
    signing_keys.revoke(redis_client, JTI, NOW + 2)
    signing_keys.expire_all(redis_client, NOW + 3)
    notices = [pubsub.get_message(timeout=1)["data"] for _ in range(4)]
    assert notices == [b"rotate", b"rotate", b"revoke", b"expire-all"]
    pubsub.close()


# --- revocation ----------------------------------------------------------------------------


def test_a_revoked_token_is_refused_by_both_replicas(redis_url: str) -> None:
    """Two replicas (their own clients) refuse the token after their next refresh, which
    is due within REFRESH_S; another token of the same person still passes."""
    replicas = [sync_client(redis_url), sync_client(redis_url)]
    key = signing_keys.current_signing_key(replicas[0], NOW)
    token = tokens.issue("ada", "viewer", key, NOW, jti=JTI)
    other = tokens.issue("ada", "viewer", key, NOW)
    followers = [_follower(client, NOW, mono=100.0) for client in replicas]
    signing_keys.revoke(replicas[0], JTI, NOW + 1, exp=NOW + 300)
    for follower, client in zip(followers, replicas, strict=True):
        assert follower.verify(token, now=NOW + 1, mono=100.1)  # not yet re-read
        assert follower.refresh(client, 100.0 + signing_keys.REFRESH_S, NOW + 1.5)
        assert _error(follower, token, NOW + 1.5, 100.5) == "revoked"
        assert follower.verify(other, now=NOW + 1.5, mono=100.5)


def test_a_cached_token_is_refused_after_the_refresh_that_reads_its_revocation(
    redis_client: redis.Redis,
) -> None:
    """The follower's cache serves the second use (no signature check), and the refresh
    after a revocation (due within REFRESH_S) refuses the token all the same."""
    key = signing_keys.current_signing_key(redis_client, NOW)
    token = tokens.issue("ada", "viewer", key, NOW, jti=JTI)
    follower = _follower(redis_client, NOW, mono=100.0)
    for _ in range(2):
        assert follower.verify(token, now=NOW + 1, mono=100.1)["sub"] == "ada"
    assert follower.verified.hits == 1
    signing_keys.revoke(redis_client, JTI, NOW + 1, exp=NOW + 300)
    assert follower.refresh(redis_client, 100.0 + signing_keys.REFRESH_S, NOW + 1.5)
    assert _error(follower, token, NOW + 1.5, 100.5) == "revoked"


def test_a_revocation_is_forgotten_once_the_token_expired(redis_client: redis.Redis) -> None:
    """The jti is kept until its token's exp (plus leeway), then neither read nor stored."""
    signing_keys.revoke(redis_client, JTI, NOW, exp=NOW + 60)
    assert redis_client.zscore(keys.REVOKED, JTI) == NOW + 60 + tokens.LEEWAY_S
    assert signing_keys.read_snapshot(redis_client, NOW + 59).revoked == [JTI.encode()]
    assert signing_keys.read_snapshot(redis_client, NOW + 62).revoked == []
    signing_keys.revoke(redis_client, "another-token-id-01", NOW + 62)
    assert redis_client.zscore(keys.REVOKED, JTI) is None


def test_a_revocation_without_exp_lasts_as_long_as_a_token_can(redis_client: redis.Redis) -> None:
    """No exp given (or a later one than any token has): kept for MAX_TTL_S."""
    signing_keys.revoke(redis_client, JTI, NOW)
    signing_keys.revoke(redis_client, "another-token-id-01", NOW, exp=NOW + 10**9)
    limit = NOW + tokens.MAX_TTL_S + tokens.LEEWAY_S
    assert redis_client.zscore(keys.REVOKED, JTI) == limit
    assert redis_client.zscore(keys.REVOKED, "another-token-id-01") == limit


@pytest.mark.parametrize("jti", ["", "short", "has space 0123456789", 7, "x" * 65])
def test_a_bad_token_id_is_not_revoked(redis_client: redis.Redis, jti) -> None:
    """Only an id the auth service could have issued is stored."""
    with pytest.raises(RevocationRefused, match="a token id"):
        signing_keys.revoke(redis_client, jti, NOW)
    assert redis_client.zcard(keys.REVOKED) == 0


def test_revocations_are_bounded(redis_client: redis.Redis, monkeypatch) -> None:
    """Past MAX_REVOKED live revocations a new one is refused, saying what to do instead."""
    monkeypatch.setattr(signing_keys, "MAX_REVOKED", 2)
    signing_keys.revoke(redis_client, "token-id-0000000001", NOW)
    signing_keys.revoke(redis_client, "token-id-0000000002", NOW)
    with pytest.raises(RevocationRefused, match="expire them all"):
        signing_keys.revoke(redis_client, "token-id-0000000003", NOW)


def test_expire_all_refuses_every_token_issued_before(redis_client: redis.Redis) -> None:
    """Tokens issued before the command are expired on the replicas; newer ones pass. The
    watermark outlives any token it refuses, then goes."""
    key = signing_keys.current_signing_key(redis_client, NOW)
    before = tokens.issue("ada", "viewer", key, NOW + 0.2)
    signing_keys.expire_all(redis_client, NOW + 0.5)
    after = tokens.issue("ada", "viewer", key, NOW + 0.6)
    follower = _follower(redis_client, NOW + 1)
    assert _error(follower, before, NOW + 1) == "expired"
    assert follower.verify(after, now=NOW + 1, mono=0)["sub"] == "ada"
    assert redis_client.pttl(keys.EXPIRED_BEFORE) > tokens.MAX_TTL_S * 1000


# --- the follower's cache logic (pure: snapshots and clocks passed) --------------------------

KEY = tokens.SigningKey.generate()


def _snapshot(*signing: tokens.SigningKey, revoked=(), expired_before=None, **records):
    """A snapshot as read_snapshot would return it, with any records planted."""
    stored = {k.kid.encode(): signing_keys._record(k, NOW).encode() for k in signing}
    stored |= {kid.encode(): raw.encode() for kid, raw in records.items()}
    return signing_keys.Snapshot(stored, [j.encode() for j in revoked], expired_before)


def test_a_follower_is_due_at_once_then_every_interval() -> None:
    """Due when new; after a read, due again REFRESH_S later; a notice makes it due now."""
    follower = KeyFollower()
    assert follower.due(0.0)
    follower.apply(_snapshot(KEY), 10.0)
    assert not follower.due(10.0 + signing_keys.REFRESH_S - 0.001)
    assert follower.due(10.0 + signing_keys.REFRESH_S)
    follower.mark_stale()
    assert follower.due(10.1)


def test_a_follower_verifies_with_what_it_read() -> None:
    """The key set and revocations of the last snapshot are used."""
    follower = KeyFollower()
    follower.apply(_snapshot(KEY, revoked=[JTI]), 0.0)
    assert follower.verify(tokens.issue("ada", "viewer", KEY, NOW), now=NOW, mono=0.1)
    revoked = tokens.issue("ada", "viewer", KEY, NOW, jti=JTI)
    assert _error(follower, revoked, NOW, 0.1) == "revoked"
    assert (follower.keys.kids, follower.error) == ({KEY.kid}, "")


def test_an_unchanged_key_set_is_not_parsed_again() -> None:
    """The same records keep the same KeySet object: a refresh costs one read, no parsing."""
    follower = KeyFollower()
    follower.apply(_snapshot(KEY), 0.0)
    parsed = follower.keys
    follower.apply(_snapshot(KEY, revoked=[JTI]), 0.5)
    assert follower.keys is parsed
    assert follower.revocations.jtis == {JTI}


def test_before_any_read_a_follower_refuses_to_verify() -> None:
    """No key set yet: KeysUnavailable (the gateway answers 503), never a guess."""
    with pytest.raises(KeysUnavailable, match="no key set"):
        KeyFollower().verify("a.b.c", now=NOW, mono=0.0)


def test_a_follower_that_has_not_heard_from_redis_for_too_long_refuses() -> None:
    """Up to MAX_STALE_S after its last good read it verifies; after that it cannot know of
    revocations, so it refuses."""
    follower = KeyFollower()
    follower.apply(_snapshot(KEY), 0.0)
    token = tokens.issue("ada", "viewer", KEY, NOW)
    assert follower.verify(token, now=NOW, mono=signing_keys.MAX_STALE_S)
    with pytest.raises(KeysUnavailable):
        follower.verify(token, now=NOW, mono=signing_keys.MAX_STALE_S + 0.001)


@pytest.mark.parametrize(
    "records",
    [
        {"some-kid": "not json"},
        {"some-kid": json.dumps({"jwk": KEY.public_jwk()})},  # no retire_at
        {"some-kid": json.dumps({"jwk": KEY.public_jwk(), "retire_at": "soon"})},
        {"some-kid": json.dumps({"jwk": KEY.public_jwk(), "retire_at": None})},  # other kid
        {KEY.kid: json.dumps({"jwk": {**KEY.public_jwk(), "d": "secret"}, "retire_at": None})},
        {KEY.kid: json.dumps({"jwk": "x", "retire_at": None})},
    ],
)
def test_a_bad_key_set_in_redis_keeps_the_last_good_one(records) -> None:
    """Planted or broken records are refused whole: the previous keys stay, the error is
    kept, and without a good read the follower goes stale (it fails closed)."""
    follower = KeyFollower()
    follower.apply(_snapshot(KEY), 0.0)
    follower.apply(_snapshot(KEY, **records), 1.0)
    assert follower.keys.kids == {KEY.kid}
    assert follower.error.startswith("bad key set in Redis")
    with pytest.raises(KeysUnavailable, match="bad key set"):
        follower.verify("a.b.c", now=NOW, mono=signing_keys.MAX_STALE_S + 0.5)


@pytest.mark.parametrize("watermark", [b"soon", b"nan", b"inf"])
def test_a_bad_watermark_keeps_the_last_revocations(watermark) -> None:
    """A watermark that is not a time is an error; the previous revocations stay."""
    follower = KeyFollower()
    follower.apply(_snapshot(KEY, revoked=[JTI], expired_before=b"1700000000.5"), 0.0)
    follower.apply(_snapshot(KEY, expired_before=watermark), 1.0)
    assert follower.revocations == tokens.Revocations(frozenset({JTI}), 1_700_000_000.5)
    assert follower.error.startswith("bad revocations in Redis")


def test_an_unreachable_redis_keeps_the_copy_and_retries_after_the_interval() -> None:
    """A failed read is not a refresh: the keys stay, the error says why, and it is due
    again one interval later."""
    follower = KeyFollower()
    follower.apply(_snapshot(KEY), 0.0)
    nowhere = sync_client("redis://127.0.0.1:1/0")
    assert not follower.refresh(nowhere, 1.0, NOW)
    assert follower.error.startswith("Redis is unreachable")
    assert follower.keys.kids == {KEY.kid}
    assert not follower.due(1.4) and follower.due(1.0 + signing_keys.REFRESH_S)


def test_refresh_reads_only_when_due(redis_client: redis.Redis) -> None:
    """Between refreshes the follower does not touch Redis."""
    follower = _follower(redis_client, NOW, mono=0.0)
    assert not follower.refresh(redis_client, 0.2, NOW)
    assert follower.refresh(redis_client, signing_keys.REFRESH_S, NOW)
