"""The gateway's stages as pure decisions: trace ids, who the client is, the time split,
authenticate, authorise, body limits, when a retry is safe, a bid's body, `after`, and when
an open socket's token stops holding."""

import pytest

from archviz.core import close_codes
from archviz.gateway import routes, tokens
from archviz.gateway.bids import InvalidBid
from archviz.gateway.edge import pipeline
from archviz.gateway.edge.pipeline import (
    Timeline,
    authenticate,
    may_retry,
    parse_after,
    parse_bid,
    server_timing,
    token_ended,
)
from archviz.gateway.signing_keys import KeysUnavailable
from archviz.gateway.tokens import KeySet, Revocations, SigningKey

NOW = 1_800_000_000.0
ROUTE = {route.name: route for route in routes.ROUTES}
KEY = SigningKey.generate()
KEYS = KeySet.from_jwks({"keys": [KEY.public_jwk()]})


def claims(role: str = "bidder", **changes) -> tokens.Claims:
    token = tokens.issue("alice", role, KEY, NOW, ttl_s=60, jti="j" * 20)
    return {**tokens.verify(token, KEYS, now=NOW), **changes}


# --- trace id, address -------------------------------------------------------------------


@pytest.mark.parametrize("given", ["0123456789abcdef", "flow-1234", "A_b-C_d-E_f-" * 5 + "abcd"])
def test_a_valid_incoming_trace_id_is_kept(given: str) -> None:
    assert pipeline.trace_id(given) == given


@pytest.mark.parametrize(
    "given", [None, "", "short", "has space1", "x" * 65, "ünïcode-id", "a/b/c/d/e"]
)
def test_anything_else_gets_a_new_trace_id(given: str | None) -> None:
    made = pipeline.trace_id(given)
    assert made != given and len(made) == 16 and int(made, 16) >= 0


@pytest.mark.parametrize(
    ("peer", "forwarded", "lab_client", "address"),
    [
        ("127.0.0.1", None, False, "127.0.0.1"),
        ("127.0.0.1", "10.0.0.7", False, "127.0.0.1"),  # anyone's header is ignored
        ("127.0.0.1", "10.0.0.7", True, "10.0.0.7"),
        ("127.0.0.1", "6.6.6.6, 10.0.0.7", True, "10.0.0.7"),  # the last hop is the proxy's
        ("127.0.0.1", "10.0.0.7, not-an-ip", True, "127.0.0.1"),
        ("127.0.0.1", " ::1 ", True, "::1"),
        (None, None, False, "unknown"),
    ],
)
def test_the_client_address_is_the_peer_unless_a_lab_proxy_relays_another(
    peer, forwarded, lab_client, address
) -> None:
    assert pipeline.client_address(peer, forwarded, lab_client=lab_client) == address


# --- time --------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_timeline_splits_gateway_time_from_upstream_time() -> None:
    clock = Clock()
    timeline = Timeline(clock)
    clock.now += 0.002
    assert timeline.lap() == pytest.approx(2.0)
    clock.now += 0.010
    timeline.waited(9.0)
    assert timeline.lap() == pytest.approx(10.0)
    assert timeline.total_ms() == pytest.approx(12.0)
    assert timeline.gateway_ms() == pytest.approx(3.0)


def test_server_timing_names_both_parts_or_only_the_gateways() -> None:
    assert server_timing(0.4123, 2.3) == "gateway;dur=0.41, upstream;dur=2.30"
    assert server_timing(1.0, None) == "gateway;dur=1.00"


# --- route, authenticate, authorise --------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "refused"), [(None, False), (0, False), (1024, False), (1025, True)]
)
def test_a_declared_body_over_the_routes_limit_is_413(length, refused) -> None:
    denial = pipeline.body_too_large(ROUTE["auth.token"], length)
    assert (denial is not None) == refused
    if denial:
        assert (denial.status, denial.body["error"]) == (413, "body_too_large")


def test_a_body_on_a_route_that_takes_none_is_413() -> None:
    assert pipeline.body_too_large(ROUTE["catalog.list"], 1).status == 413


def _verify(token: str) -> tokens.Claims:
    return tokens.verify(token, KEYS, now=NOW + 1)


def test_a_public_route_is_not_asked_for_a_token() -> None:
    assert authenticate(ROUTE["auth.token"], None, _verify) == pipeline.PUBLIC
    assert authenticate(ROUTE["auth.token"], "Bearer junk", _verify) == pipeline.PUBLIC


def test_a_good_token_authenticates_to_its_claims() -> None:
    token = tokens.issue("alice", "viewer", KEY, NOW)
    checked = authenticate(ROUTE["catalog.list"], f"Bearer {token}", _verify)
    assert (checked.claims["sub"], checked.denial, checked.error) == ("alice", None, "")


@pytest.mark.parametrize(
    ("header", "error"),
    [
        (None, "missing"),
        ("", "missing"),
        ("Basic abc", "missing"),
        ("Bearer", "malformed"),
        ("Bearer a b", "malformed"),
        ("Bearer x.y.z", "malformed"),
    ],
)
def test_a_refused_token_is_a_401_with_its_error(header, error) -> None:
    checked = authenticate(ROUTE["catalog.list"], header, _verify)
    assert (checked.claims, checked.error, checked.denial.status) == (None, error, 401)
    assert checked.denial.body["error"] == error


def test_a_replica_that_cannot_trust_its_keys_answers_503_naming_auth() -> None:
    def stale(token: str) -> tokens.Claims:
        raise KeysUnavailable("no key set read from Redis yet")

    checked = authenticate(ROUTE["catalog.list"], "Bearer a.b.c", stale)
    assert (checked.denial.status, checked.denial.body["service"]) == (503, "auth")
    assert checked.error == "keys_unavailable"


@pytest.mark.parametrize(
    ("route", "role", "allowed"),
    [
        ("catalog.list", "viewer", True),
        ("bidding.place", "viewer", False),
        ("bidding.place", "bidder", True),
        ("auth.rotate", "bidder", False),
        ("auth.rotate", "instructor", True),
        ("ws.auction", "viewer", True),
        ("auth.token", None, True),
    ],
)
def test_authorise_checks_the_roles_scopes_against_the_routes(route, role, allowed) -> None:
    denial = pipeline.authorise(ROUTE[route], None if role is None else claims(role))
    assert (denial is None) == allowed
    if denial:
        assert (denial.status, denial.body["error"]) == (403, "insufficient_scope")


def test_the_consumer_is_the_subject_else_the_address() -> None:
    assert pipeline.consumer(claims(), "10.0.0.1") == "user:alice"
    assert pipeline.consumer(None, "10.0.0.1") == "address:10.0.0.1"


# --- dispatch ----------------------------------------------------------------------------


@pytest.mark.parametrize("route", list(ROUTE))
@pytest.mark.parametrize("failure", ["refused", "disconnected", "unavailable", "deadline"])
@pytest.mark.parametrize("attempts", [1, 2])
@pytest.mark.parametrize("has_request_id", [False, True])
def test_a_retry_is_taken_only_when_safe(route, failure, attempts, has_request_id) -> None:
    """Once at most, never past the deadline; a refused connection always (nothing was
    sent); else only an idempotent route or a request that names itself."""
    expected = (
        attempts == 1
        and failure != "deadline"
        and (failure == "refused" or ROUTE[route].idempotent or has_request_id)
    )
    assert (
        may_retry(ROUTE[route], failure, attempts=attempts, has_request_id=has_request_id)
        == expected
    )


def test_a_bid_after_a_cut_off_exchange_is_retried_because_it_names_itself() -> None:
    assert not ROUTE["bidding.place"].idempotent
    assert may_retry(ROUTE["bidding.place"], "disconnected", attempts=1, has_request_id=True)
    assert not may_retry(ROUTE["auth.token"], "disconnected", attempts=1, has_request_id=False)


@pytest.mark.parametrize(
    ("body", "cents", "request_id"),
    [
        (b'{"amount": 12.5}', 1_250, None),
        (b'{"amount": "40.00"}', 4_000, None),
        (b'{"amount": 7, "request_id": "r-1"}', 700, "r-1"),
    ],
)
def test_a_bid_body_is_cents_and_a_request_id(body, cents, request_id) -> None:
    parsed = parse_bid(body)
    assert parsed.amount_cents == cents
    if request_id:
        assert parsed.request_id == request_id
    else:
        assert parsed.request_id.startswith("gw-") and len(parsed.request_id) == 27


def test_two_bids_without_request_ids_get_different_ones() -> None:
    assert parse_bid(b'{"amount": 1}').request_id != parse_bid(b'{"amount": 1}').request_id


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"", "send"),
        (b"[]", "send"),
        (b"{}", "send"),
        (b"nope", "not JSON"),
        (b"\xff", "not JSON"),
        (b'{"amount": 0}', "more than zero"),
        (b'{"amount": 1.005}', "2 decimals"),
        (b'{"amount": true}', "a number"),
        (b'{"amount": 1, "bidder": "eve"}', "unknown field 'bidder'"),
        (b'{"amount": 1, "request_id": ""}', "request id"),
        (b'{"amount": 1, "request_id": 5}', "request id"),
        (b'{"amount": 1, "request_id": "has space"}', "request id"),
    ],
)
def test_a_bad_bid_body_says_why(body: bytes, words: str) -> None:
    """The bidder is never taken from the body: it is the token's subject."""
    with pytest.raises(InvalidBid, match=words):
        parse_bid(body)


@pytest.mark.parametrize(
    ("status", "verdict"),
    [(200, "ok"), (201, "ok"), (101, "ok"), (304, "ok"), (401, "401"), (504, "504")],
)
def test_a_verdict_is_ok_or_the_status(status: int, verdict: str) -> None:
    assert pipeline.verdict(status) == verdict


# --- the socket --------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "after"), [(None, None), ("0", 0), ("17", 17)])
def test_after_is_the_last_seq_seen(value, after) -> None:
    assert parse_after(value) == after


@pytest.mark.parametrize("value", ["", "-1", "1.5", "x", "٣", "1" * 17, str(2**53 + 1)])
def test_a_bad_after_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="after must be"):
        parse_after(value)


def test_an_open_sockets_token_holds_until_exp_and_the_leeway() -> None:
    held = claims()
    assert token_ended(held, KEY.kid, KEYS, Revocations(), NOW + 60) is None
    ended = token_ended(held, KEY.kid, KEYS, Revocations(), NOW + 60 + tokens.LEEWAY_S)
    assert ended == (close_codes.TOKEN_EXPIRED, "expired", "the token expired")


def test_a_revoked_or_expired_all_or_retired_key_token_is_taken_back() -> None:
    held = claims()
    revoked = token_ended(held, KEY.kid, KEYS, Revocations(frozenset({"j" * 20})), NOW + 1)
    assert (revoked.code, revoked.error) == (close_codes.TOKEN_REVOKED, "revoked")
    all_gone = token_ended(held, KEY.kid, KEYS, Revocations(issued_before=NOW + 0.5), NOW + 1)
    assert (all_gone.code, all_gone.error) == (close_codes.TOKEN_REVOKED, "expired")
    retired = KeySet.from_jwks({"keys": [KEY.public_jwk()]}, {KEY.kid: NOW + 1})
    gone = token_ended(held, KEY.kid, retired, Revocations(), NOW + 1)
    assert (gone.code, gone.error) == (close_codes.TOKEN_REVOKED, "unknown_key")
    assert token_ended(held, KEY.kid, None, Revocations(), NOW + 1) is None  # no keys yet


def test_the_close_codes_are_described() -> None:
    for code in (close_codes.TOKEN_EXPIRED, close_codes.TOKEN_REVOKED, close_codes.TOKEN_REFUSED):
        assert close_codes.DESCRIPTIONS[code]
