"""The auth service's tokens and key set: its application in process on the real Redis, the
instructor's role by a real dashboard session, the rate limit, and every refusal in JSON."""

import json
import time
from collections.abc import AsyncIterator

import pytest
import redis
from aiohttp.test_utils import TestClient, TestServer
from django.conf import settings

from archviz.core.http import LAB_CLIENT_HEADER, lab_client_token
from archviz.core.ports import free_port
from archviz.core.redis_conn import sync_client
from archviz.gateway import auth_service, keys, routes, tokens
from archviz.gateway.auth_http import SERVICE_HEADER
from archviz.gateway.auth_service import TOKEN_POLICY, forwarded_for, make_app
from archviz.gateway.tokens import KeySet
from archviz.trace.emitter import Emitter
from archviz.trace.events import TRACE_LOG


@pytest.fixture
def emitter(redis_client: redis.Redis) -> Emitter:
    """The service's trace emitter, not started: a test flushes it and reads the log."""
    return Emitter("auth-1", client_factory=lambda: redis_client)


@pytest.fixture
async def auth(redis_client: redis.Redis, emitter: Emitter) -> AsyncIterator[TestClient]:
    """The auth service's application as replica auth-1, on a test server."""
    app = make_app("auth-1", lambda: redis_client, emitter=lambda: emitter)
    async with TestClient(TestServer(app)) as client:
        yield client


def traced(emitter: Emitter, redis_client: redis.Redis) -> list[dict]:
    """The trace events the service emitted, as the replay log has them."""
    assert emitter.flush()
    batches = [json.loads(f[b"batch"]) for _id, f in redis_client.xrange(TRACE_LOG)]
    return [event for batch in batches for event in batch]


async def ask(auth: TestClient, body: object, **headers: str):
    """POST /auth/token with `body` as JSON (bytes as they are): the response and its JSON."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = await auth.post("/auth/token", data=data, headers=headers)
    return response, await response.json()


async def served_keys(auth: TestClient) -> KeySet:
    response = await auth.get("/auth/jwks.json")
    assert response.status == 200
    return KeySet.from_jwks(await response.json())


# --- tokens for anyone ------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["viewer", "bidder"])
async def test_anyone_gets_a_token_that_the_served_key_set_verifies(
    auth: TestClient, role: str
) -> None:
    """The answer names the type, lifetime, role, scopes and key; the JWKS verifies it."""
    response, body = await ask(auth, {"name": "ada", "role": role})
    assert response.status == 200
    assert response.headers[SERVICE_HEADER] == "auth-1"
    assert response.headers["Cache-Control"] == "no-store"
    assert (body["token_type"], body["expires_in"], body["role"]) == ("Bearer", 300, role)
    assert body["scope"] == " ".join(routes.scopes_for(role))
    claims = tokens.verify(body["token"], await served_keys(auth), now=time.time())
    assert (claims["sub"], claims["role"], claims["jti"]) == ("ada", role, body["jti"])
    assert tokens.granted_scopes(claims) == frozenset(routes.scopes_for(role))
    assert (await served_keys(auth)).kids == {body["kid"]}


async def test_a_token_can_be_asked_for_a_shorter_life(auth: TestClient) -> None:
    _response, body = await ask(auth, {"name": "ada", "role": "viewer", "ttl_s": 30})
    claims = tokens.verify(body["token"], await served_keys(auth), now=time.time())
    assert body["expires_in"] == 30 and claims["exp"] - claims["iat"] == pytest.approx(30)


async def test_a_token_answer_carries_the_rate_limit_headers(auth: TestClient) -> None:
    """RateLimit-Policy and RateLimit (draft-ietf-httpapi-ratelimit-headers), one spent."""
    response, _body = await ask(auth, {"name": "ada", "role": "viewer"})
    assert response.headers["RateLimit-Policy"] == '"auth-token";q=10;w=5'
    assert response.headers["RateLimit"].startswith('"auth-token";r=9;t=')


async def test_the_key_set_is_cacheable_for_a_few_seconds_only(auth: TestClient) -> None:
    response = await auth.get("/auth/jwks.json")
    assert response.headers["Cache-Control"] == "public, max-age=5"
    assert response.content_type == "application/jwk-set+json"
    (key,) = (await response.json())["keys"]
    assert set(key) == {"kty", "crv", "x", "kid", "use", "alg"}


async def test_issuing_is_traced_and_counted(
    auth: TestClient, emitter: Emitter, redis_client: redis.Redis
) -> None:
    """auth.issue names the subject, role and key (never the token); the counts by role."""
    _response, body = await ask(auth, {"name": "ada", "role": "bidder"})
    await ask(auth, {"name": "bob", "role": "viewer"})
    await ask(auth, {"name": "bob", "role": "nobody"})
    (first, second) = [e for e in traced(emitter, redis_client) if e["kind"] == "auth.issue"]
    assert (first["src"], first["dst"], first["demo"], first["ok"]) == (
        "auth-1", "client", "gateway", True,
    )  # fmt: skip
    assert first["detail"] == {"sub": "ada", "role": "bidder", "kid": body["kid"],
                               "jti": body["jti"][:8], "ttl_s": 300}  # fmt: skip
    assert body["token"] not in json.dumps(second)
    counts = auth.app[auth_service.COUNTS].snapshot()
    assert counts["issued"] == 2 and counts["issued_by_role"] == {"bidder": 1, "viewer": 1}
    assert counts["refused"] == {"bad_request": 1}


# --- the instructor's role --------------------------------------------------------------------


@pytest.fixture
def instructor_cookie(instructor_user, client) -> str:
    """The Cookie header of an instructor logged in to the dashboard (a real session)."""
    client.force_login(instructor_user)
    return f"{settings.SESSION_COOKIE_NAME}={client.session.session_key}"


@pytest.fixture
def learner_cookie(in_process_db, django_user_model, client) -> str:
    """The Cookie header of a learner logged in to the dashboard: no instructor."""
    client.force_login(django_user_model.objects.create_user("lena", password="lena-pw-2913"))
    return f"{settings.SESSION_COOKIE_NAME}={client.session.session_key}"


async def test_an_instructor_by_their_dashboard_session_gets_the_instructor_scope(
    auth: TestClient, instructor_cookie: str
) -> None:
    """The forwarded Cookie is asked of Django's session framework, as the dashboard would."""
    response, body = await ask(auth, {"name": "ingrid", "role": "instructor"},
                               Cookie=f"other=1; {instructor_cookie}")  # fmt: skip
    assert response.status == 200, body
    claims = tokens.verify(body["token"], await served_keys(auth), now=time.time())
    assert routes.ADMIN in tokens.granted_scopes(claims)


async def test_a_learner_asking_for_the_instructor_role_is_refused_with_a_403(
    auth: TestClient, learner_cookie: str, emitter: Emitter, redis_client: redis.Redis
) -> None:
    """Logged in, but not an instructor: the message says so; traced as refused."""
    response, body = await ask(auth, {"name": "lena", "role": "instructor"}, Cookie=learner_cookie)
    assert (response.status, body["error"]) == (403, "forbidden")
    assert body["message"] == (
        "only an instructor may ask for the role instructor: your dashboard login is not one"
    )
    (event,) = [e for e in traced(emitter, redis_client) if e["kind"] == "auth.issue"]
    assert event["ok"] is False and event["detail"]["role"] == "instructor"


@pytest.mark.parametrize("session_key", [None, "forged-session-key", ""])
async def test_without_a_dashboard_login_the_instructor_role_is_refused(
    auth: TestClient, in_process_db, session_key: str | None
) -> None:
    """No session cookie, an unknown session or an empty one: told to log in first."""
    cookie = f"{settings.SESSION_COOKIE_NAME}={session_key}"
    headers = {} if session_key is None else {"Cookie": cookie}
    response, body = await ask(auth, {"name": "eve", "role": "instructor"}, **headers)
    assert (response.status, body["error"]) == (403, "forbidden")
    assert body["message"].endswith("log in to the dashboard first")


async def test_a_viewer_token_costs_no_session_lookup(
    redis_client: redis.Redis, emitter: Emitter
) -> None:
    """Only a role beyond viewer and bidder asks who the session is (a database read)."""
    asked: list[str] = []
    app = make_app("auth-1", lambda: redis_client, emitter=lambda: emitter,
                   caller=lambda key: asked.append(key) or "anonymous")  # fmt: skip
    async with TestClient(TestServer(app)) as auth:
        response, _ = await ask(auth, {"name": "ada", "role": "viewer"}, Cookie="sessionid=abc")
        assert response.status == 200 and asked == []


# --- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "the body is not JSON"),
        (b"{not json", "the body is not JSON"),
        (b"[1, 2]", "the body is not a JSON object"),
        ({"name": "ada"}, "role must be one of viewer, bidder, instructor"),
        ({"name": "", "role": "viewer"}, "name must be 1-40 letters, digits, space, _ . or -"),
        ({"name": "<script>", "role": "viewer"}, "name must be 1-40"),
        ({"name": "ada", "role": "viewer", "admin": True}, "unknown field 'admin'"),
        ({"name": "ada", "role": "viewer", "ttl_s": 86400}, "ttl_s must be 5 to 900 seconds"),
    ],
)
async def test_a_bad_token_request_is_a_json_400_saying_why(
    auth: TestClient, body: object, message: str
) -> None:
    response, answer = await ask(auth, body)
    assert (response.status, answer["error"]) == (400, "bad_request")
    assert answer["message"].startswith(message)


async def test_a_body_over_the_routes_limit_is_a_413(auth: TestClient) -> None:
    """Over 1 KiB (the route's max_body_bytes), said in advance or sent chunked."""
    big = json.dumps({"name": "ada", "role": "viewer", "pad": "x" * 2_000}).encode()
    response, answer = await ask(auth, big)
    assert (response.status, answer["error"]) == (413, "body_too_large")
    assert answer["message"] == "the body is over 1024 bytes"

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b" " * 1_000

    response = await auth.post("/auth/token", data=chunks())
    assert response.status == 413 and (await response.json())["error"] == "body_too_large"


@pytest.fixture
def slow_refill(monkeypatch: pytest.MonkeyPatch) -> None:
    """The token route's burst, refilled so slowly that a loaded machine's slow requests do
    not earn one back before the burst is spent (at 2 a second, 0.5 s of them would)."""
    monkeypatch.setattr(auth_service, "TOKEN_POLICY", TOKEN_POLICY._replace(rate=0.01))


@pytest.mark.usefixtures("slow_refill")
async def test_a_flood_of_token_requests_is_refused_with_429(auth: TestClient) -> None:
    """Past the burst, per address: Retry-After and the RateLimit headers; counted."""
    statuses = []
    for _ in range(TOKEN_POLICY.burst + 2):
        response, body = await ask(auth, {"name": "ada", "role": "viewer"})
        statuses.append(response.status)
    assert statuses == [200] * TOKEN_POLICY.burst + [429, 429]
    assert body["error"] == "rate_limited" and "too many auth-token requests" in body["message"]
    assert int(response.headers["Retry-After"]) >= 1
    assert response.headers["RateLimit"].startswith('"auth-token";r=0;t=')
    assert auth.app[auth_service.COUNTS].snapshot()["refused"] == {"rate_limited": 2}


@pytest.mark.usefixtures("slow_refill")
async def test_only_the_labs_own_relay_may_name_the_client_address(auth: TestClient) -> None:
    """With the flood's address spent, X-Forwarded-For counts only with the lab client
    header (the gateway relaying): anyone else's is ignored."""
    for _ in range(TOKEN_POLICY.burst):
        await ask(auth, {"name": "ada", "role": "viewer"})
    forged, _ = await ask(
        auth, {"name": "ada", "role": "viewer"}, **{"X-Forwarded-For": "10.9.8.7"}
    )
    relayed, _ = await ask(auth, {"name": "ada", "role": "viewer"},
                           **{"X-Forwarded-For": "1.2.3.4, 10.9.8.7",
                              LAB_CLIENT_HEADER: lab_client_token()})  # fmt: skip
    assert (forged.status, relayed.status) == (429, 200)


@pytest.mark.parametrize(
    ("value", "address"),
    [(None, None), ("", None), ("10.0.0.1", "10.0.0.1"), ("1.1.1.1, 10.0.0.2 ", "10.0.0.2"),
     ("::1", "::1"), ("10.0.0.1, evil", None), ("unknown", None)],
)  # fmt: skip
def test_the_forwarded_address_is_the_last_one_if_it_is_an_address(
    value: str | None, address: str | None
) -> None:
    assert forwarded_for(value) == address


async def test_a_wrong_path_or_method_is_a_json_404_or_405(auth: TestClient) -> None:
    response = await auth.get("/auth/nothing")
    assert response.status == 404
    assert (await response.json())["error"] == "not_found"
    response = await auth.get("/auth/token")
    assert (response.status, response.headers["Allow"]) == (405, "POST")
    assert (await response.json()) == {"error": "method_not_allowed", "message": "use POST"}


async def test_without_redis_every_route_is_a_json_503_naming_auth(emitter: Emitter) -> None:
    nowhere = sync_client(f"redis://127.0.0.1:{free_port('127.0.0.1')}/0")
    app = make_app("auth-1", lambda: nowhere, emitter=lambda: emitter)
    async with TestClient(TestServer(app)) as auth:
        for method, path in [("POST", "/auth/token"), ("GET", "/auth/jwks.json"),
                             ("GET", "/auth/health")]:  # fmt: skip
            response = await auth.request(method, path, json={"name": "a", "role": "viewer"})
            body = await response.json()
            assert (response.status, body["error"], body["service"]) == (
                503, "service_unavailable", "auth",
            )  # fmt: skip
            assert response.headers["Retry-After"] == "1"


async def test_a_ring_with_a_lost_private_key_is_a_503_not_a_crash(
    auth: TestClient, redis_client: redis.Redis
) -> None:
    redis_client.set(keys.SIGNING_CURRENT, "lost-key")
    response, body = await ask(auth, {"name": "ada", "role": "viewer"})
    assert (response.status, body["message"]) == (503, "the signing key is unusable")


async def test_a_failure_inside_is_a_json_500_not_a_traceback(
    redis_client: redis.Redis, emitter: Emitter, instructor_cookie: str
) -> None:
    """Say the session store breaks: the answer is still JSON, the trace stays in the log."""

    def broken(session_key: str) -> str:
        raise RuntimeError("the session store is broken")

    app = make_app("auth-1", lambda: redis_client, emitter=lambda: emitter, caller=broken)
    async with TestClient(TestServer(app)) as auth:
        response, body = await ask(auth, {"name": "a", "role": "instructor"},
                                   Cookie=instructor_cookie)  # fmt: skip
    assert (response.status, body) == (
        500, {"error": "internal_error", "message": "the auth service failed"},
    )  # fmt: skip


async def test_health_is_ok_while_it_reaches_redis(auth: TestClient) -> None:
    response = await auth.get("/auth/health")
    assert (response.status, await response.json()) == (200, {"ok": True, "id": "auth-1"})


def test_it_serves_every_auth_route_of_the_table_and_no_other() -> None:
    """The paths come from routes.py: the gateway and the service cannot drift apart."""
    app = make_app("auth-1")
    served = {(r.method, r.resource.canonical) for r in app.router.routes() if r.method != "HEAD"}
    table = {(r.method, r.pattern) for r in routes.ROUTES if r.service == "auth"}
    assert served == table | {("GET", "/auth/health")}
