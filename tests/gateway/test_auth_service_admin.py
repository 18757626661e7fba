"""The instructors' routes of the auth service, in process on the real Redis: rotate, revoke
and expire-all, applied by a gateway replica's KeyFollower; and the service's own check of
the caller's token and scope."""

import json
from collections.abc import AsyncIterator

import pytest
import redis
from aiohttp.test_utils import TestClient, TestServer

from archviz.gateway import keys, signing_keys, tokens
from archviz.gateway.auth_admin import grace_from, json_object, revocation_from
from archviz.gateway.auth_http import COUNTS, Refused
from archviz.gateway.auth_service import make_app
from archviz.gateway.signing_keys import KeyFollower
from archviz.gateway.tokens import KeySet, SigningKey, TokenError
from archviz.trace.emitter import Emitter
from archviz.trace.events import TRACE_LOG

START = 1_700_000_000.0


class Clock:
    """The service's wall clock, moved by the test."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def emitter(redis_client: redis.Redis) -> Emitter:
    return Emitter("auth-1", client_factory=lambda: redis_client)


@pytest.fixture
async def auth(
    redis_client: redis.Redis, emitter: Emitter, clock: Clock
) -> AsyncIterator[TestClient]:
    app = make_app("auth-1", lambda: redis_client, emitter=lambda: emitter, clock=clock)
    async with TestClient(TestServer(app)) as client:
        yield client


def token_for(redis_client: redis.Redis, role: str, now: float, **options) -> str:
    """A token as the service signs them, with the ring's current key."""
    key = signing_keys.current_signing_key(redis_client, now)
    return tokens.issue("ingrid", role, key, now, **options)


@pytest.fixture
def instructor(redis_client: redis.Redis, clock: Clock) -> dict[str, str]:
    """The Authorization header of an instructor's token."""
    return {"Authorization": f"Bearer {token_for(redis_client, 'instructor', clock.now - 1)}"}


def follower_at(redis_client: redis.Redis, now: float) -> KeyFollower:
    """A gateway replica's copy of the ring, read at `now`."""
    follower = KeyFollower()
    assert follower.refresh(redis_client, 0.0, now)
    return follower


def refused(follower: KeyFollower, token: str, now: float) -> str:
    with pytest.raises(TokenError) as error:
        follower.verify(token, now=now, mono=0.0)
    return error.value.error


async def served_kids(auth: TestClient) -> list[str]:
    response = await auth.get("/auth/jwks.json")
    return [key["kid"] for key in (await response.json())["keys"]]


# --- rotate --------------------------------------------------------------------------------------


async def test_rotation_publishes_a_new_current_key_and_keeps_the_old_for_the_grace(
    auth: TestClient, instructor: dict, redis_client: redis.Redis, clock: Clock
) -> None:
    """The new kid comes first in the JWKS; tokens are signed with it; one signed before
    still verifies with the set served, until the grace ends."""
    before = token_for(redis_client, "viewer", clock.now)
    old = (await served_kids(auth))[0]
    clock.now += 1  # the JWKS puts the newest first: by their creation times
    response = await auth.post("/auth/keys/rotate", json={"grace_s": 60}, headers=instructor)
    assert response.status == 200
    answer = await response.json()
    assert (answer["previous"], answer["retire_at"]) == (old, clock.now + 60)
    assert await served_kids(auth) == [answer["kid"], old]
    issued = await (await auth.post("/auth/token", json={"name": "a", "role": "bidder"})).json()
    assert issued["kid"] == answer["kid"]
    jwks = await (await auth.get("/auth/jwks.json")).json()
    assert tokens.verify(before, KeySet.from_jwks(jwks), now=clock.now)["sub"] == "ingrid"
    clock.now += 60
    assert await served_kids(auth) == [answer["kid"]]


async def test_a_rotation_without_grace_refuses_the_old_key_at_once(
    auth: TestClient, instructor: dict, redis_client: redis.Redis, clock: Clock
) -> None:
    """grace 0, as after a leak: a replica refuses every token the old key signed."""
    before = token_for(redis_client, "viewer", clock.now)
    response = await auth.post("/auth/keys/rotate", json={"grace_s": 0}, headers=instructor)
    assert response.status == 200
    assert refused(follower_at(redis_client, clock.now), before, clock.now) == "unknown_key"


async def test_a_rotation_with_no_body_uses_the_full_grace(
    auth: TestClient, instructor: dict, clock: Clock
) -> None:
    response = await auth.post("/auth/keys/rotate", headers=instructor)
    assert (await response.json())["retire_at"] == START + signing_keys.GRACE_S


# --- revoke --------------------------------------------------------------------------------------


@pytest.mark.parametrize("by", ["jti", "token", "both"])
async def test_a_revoked_token_is_refused_by_a_replica_after_its_refresh(
    auth: TestClient, instructor: dict, redis_client: redis.Redis, clock: Clock, by: str
) -> None:
    """By its id, by the token itself, or both: the replica's next read refuses it, and
    another token still passes."""
    jti = "revoke-me-0123456789"
    token = token_for(redis_client, "bidder", clock.now, jti=jti)
    other = token_for(redis_client, "bidder", clock.now)
    follower = follower_at(redis_client, clock.now)
    body = {"jti": {"jti": jti}, "token": {"token": token}, "both": {"jti": jti, "token": token}}
    response = await auth.post("/auth/tokens/revoke", json=body[by], headers=instructor)
    assert (response.status, await response.json()) == (200, {"revoked": jti})
    assert follower.verify(token, now=clock.now, mono=0.0)  # its copy is not re-read yet
    assert follower.refresh(redis_client, signing_keys.REFRESH_S, clock.now)
    assert refused(follower, token, clock.now) == "revoked"
    assert follower.verify(other, now=clock.now, mono=signing_keys.REFRESH_S)


async def test_revoking_by_the_token_keeps_the_id_until_the_token_expires(
    auth: TestClient, instructor: dict, redis_client: redis.Redis, clock: Clock
) -> None:
    token = token_for(redis_client, "viewer", clock.now, ttl_s=60, jti="short-lived-token-01")
    await auth.post("/auth/tokens/revoke", json={"token": token}, headers=instructor)
    kept_until = redis_client.zscore(keys.REVOKED, "short-lived-token-01")
    assert kept_until == pytest.approx(clock.now + 60 + tokens.LEEWAY_S)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, 'give the token\'s "jti" or the "token"'),
        ({"jti": "short"}, "a token id is 16-64"),
        ({"jti": 12}, "a token id is 16-64"),
        ({"token": "not.a.jwt"}, "the token is not a JWT"),
        ({"token": 7}, "the token is not one of ours"),
        ({"jti": "revoke-me-0123456789", "why": "x"}, "unknown field 'why'"),
    ],
)
async def test_a_bad_revocation_is_a_json_400(
    auth: TestClient, instructor: dict, body: dict, message: str
) -> None:
    response = await auth.post("/auth/tokens/revoke", json=body, headers=instructor)
    answer = await response.json()
    assert (response.status, answer["error"]) == (400, "bad_request")
    assert answer["message"].startswith(message)


def test_a_jti_that_is_not_the_tokens_is_refused(redis_client: redis.Redis) -> None:
    token = tokens.issue("a", "viewer", SigningKey.generate(), START, jti="the-real-jti-000001")
    with pytest.raises(Refused) as error:
        revocation_from({"jti": "another-jti-0000001", "token": token})
    assert error.value.denial.body["message"] == "the jti is not the token's"
    assert revocation_from({"token": token}) == ("the-real-jti-000001", START + 300)


# --- expire-all ----------------------------------------------------------------------------------


async def test_expire_all_refuses_every_token_issued_before_and_none_after(
    auth: TestClient, instructor: dict, redis_client: redis.Redis, clock: Clock
) -> None:
    earlier = token_for(redis_client, "bidder", clock.now - 5)
    response = await auth.post("/auth/tokens/expire-all", json={}, headers=instructor)
    assert (response.status, await response.json()) == (200, {"expired_before": START})
    later = token_for(redis_client, "bidder", clock.now + 1)
    follower = follower_at(redis_client, clock.now + 1)
    assert refused(follower, earlier, clock.now + 1) == "expired"
    assert refused(follower, instructor["Authorization"][7:], clock.now + 1) == "expired"
    assert follower.verify(later, now=clock.now + 1, mono=0.0)["sub"] == "ingrid"


# --- announced, traced, counted ------------------------------------------------------------------


async def test_each_change_is_announced_to_the_replicas_traced_and_counted(
    auth: TestClient, instructor: dict, redis_client: redis.Redis, emitter: Emitter
) -> None:
    """KEYS_CHANGED wakes every KeyFollower; auth.* names what and who (the token's sub)."""
    pubsub = redis_client.pubsub()
    pubsub.subscribe(keys.KEYS_CHANGED)
    assert pubsub.get_message(timeout=1)["type"] == "subscribe"
    await auth.post("/auth/keys/rotate", json={"grace_s": 30}, headers=instructor)
    await auth.post("/auth/tokens/revoke", json={"jti": "revoke-me-0123456789"}, headers=instructor)
    await auth.post("/auth/tokens/expire-all", headers=instructor)
    notices = [pubsub.get_message(timeout=1)["data"] for _ in range(3)]
    pubsub.close()
    assert notices == [b"rotate", b"revoke", b"expire-all"]
    assert emitter.flush()
    events = [e for _id, f in redis_client.xrange(TRACE_LOG) for e in json.loads(f[b"batch"])]
    kinds = [(e["kind"], e["detail"]["by"]) for e in events if e["kind"].startswith("auth.")]
    assert kinds == [("auth.rotate", "ingrid"), ("auth.revoke", "ingrid"),
                     ("auth.expire_all", "ingrid")]  # fmt: skip
    assert auth.app[COUNTS].snapshot()["actions"] == {"rotate": 1, "revoke": 1, "expire_all": 1}


# --- the service checks for itself ------------------------------------------------------------

ADMIN_PATHS = ["/auth/keys/rotate", "/auth/tokens/revoke", "/auth/tokens/expire-all"]


@pytest.mark.parametrize("path", ADMIN_PATHS)
async def test_without_a_token_an_instructors_route_is_a_401_challenge(
    auth: TestClient, path: str, redis_client: redis.Redis
) -> None:
    """Reached directly, bypassing the gateway: the service asks for a token itself."""
    response = await auth.post(path, json={})
    assert response.status == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="archviz"'
    assert (await response.json())["error"] == "missing"
    assert redis_client.zcard(keys.REVOKED) == 0 and not redis_client.exists(keys.EXPIRED_BEFORE)


@pytest.mark.parametrize("path", ADMIN_PATHS)
async def test_a_bidders_token_is_a_403_insufficient_scope(
    auth: TestClient, path: str, redis_client: redis.Redis, clock: Clock
) -> None:
    bidder = {"Authorization": f"Bearer {token_for(redis_client, 'bidder', clock.now)}"}
    response = await auth.post(path, json={}, headers=bidder)
    assert response.status == 403
    assert 'error="insufficient_scope", ' in response.headers["WWW-Authenticate"]
    assert 'scope="auth:admin"' in response.headers["WWW-Authenticate"]
    assert (await response.json())["error"] == "insufficient_scope"


async def test_an_instructor_token_not_signed_by_the_ring_is_a_401(
    auth: TestClient, clock: Clock, redis_client: redis.Redis
) -> None:
    """A token made with some other key, even one claiming the instructor's role."""
    forged = tokens.issue("mallory", "instructor", SigningKey.generate(), clock.now)
    response = await auth.post(
        "/auth/tokens/expire-all", headers={"Authorization": f"Bearer {forged}"}
    )
    assert response.status == 401
    assert (await response.json())["error"] == "unknown_key"
    assert not redis_client.exists(keys.EXPIRED_BEFORE)


async def test_a_revoked_instructor_token_is_refused_at_once(
    auth: TestClient, redis_client: redis.Redis, clock: Clock
) -> None:
    """The service reads the ring on every such request: no replica's refresh to wait for."""
    token = token_for(redis_client, "instructor", clock.now, jti="instructor-token-001")
    headers = {"Authorization": f"Bearer {token}"}
    response = await auth.post("/auth/tokens/revoke", json={"jti": "instructor-token-001"},
                               headers=headers)  # fmt: skip
    assert response.status == 200
    response = await auth.post("/auth/keys/rotate", headers=headers)
    assert (response.status, (await response.json())["error"]) == (401, "revoked")


async def test_an_unreadable_ring_is_a_503_not_a_crash(
    auth: TestClient, instructor: dict, redis_client: redis.Redis
) -> None:
    redis_client.hset(keys.PUBLIC_KEYS, "planted", "{")
    response = await auth.post("/auth/keys/rotate", headers=instructor)
    body = await response.json()
    assert (response.status, body["service"]) == (503, "auth")
    assert body["message"].startswith("the key ring is unreadable")


async def test_an_instructors_body_over_the_limit_is_a_413(
    auth: TestClient, instructor: dict
) -> None:
    big = json.dumps({"jti": "x" * 5_000}).encode()
    response = await auth.post("/auth/tokens/revoke", data=big, headers=instructor)
    assert (response.status, (await response.json())["error"]) == (413, "body_too_large")


# --- the pure checks -----------------------------------------------------------------------------


@pytest.mark.parametrize("grace", [-1, 901, "60", True, None, float("nan")])
def test_a_grace_out_of_bounds_is_refused(grace: object) -> None:
    with pytest.raises(Refused):
        grace_from({"grace_s": grace})
    assert grace_from({}) == signing_keys.GRACE_S and grace_from({"grace_s": 0}) == 0.0


@pytest.mark.parametrize(("body", "expected"), [(b"", {}), (b"  \n", {}), (b'{"a": 1}', {"a": 1})])
def test_an_empty_body_is_an_empty_object(body: bytes, expected: dict) -> None:
    assert json_object(body, frozenset({"a"})) == expected


@pytest.mark.parametrize("body", [b"[]", b"7", b"{", b'{"b": 1}', b"\xff"])
def test_a_body_that_is_not_an_object_of_these_fields_is_refused(body: bytes) -> None:
    with pytest.raises(Refused) as error:
        json_object(body, frozenset({"a"}))
    assert error.value.denial.status == 400
