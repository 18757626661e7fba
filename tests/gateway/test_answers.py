"""The gateway's own answers: RFC 6750 challenges, 429's headers, the service's name, and the
gRPC status for every code."""

import json

import grpc
import pytest

from archviz.gateway import answers


def _challenge(denial: answers.Denial) -> str | None:
    return denial.header("www-authenticate")


def test_a_missing_token_gets_the_bare_bearer_challenge() -> None:
    """RFC 6750 §3.1: no error code when the request had no token; the body says missing."""
    denied = answers.unauthorized("missing", "no Bearer token")
    assert denied.status == 401
    assert _challenge(denied) == 'Bearer realm="archviz"'
    assert denied.body == {"error": "missing", "message": "no Bearer token"}
    assert denied.header("Content-Type") == "application/json"


@pytest.mark.parametrize(
    "error",
    ["malformed", "alg_none", "bad_signature", "unknown_key", "expired", "wrong_audience",
     "revoked", "not_yet_valid"],
)  # fmt: skip
def test_every_other_token_error_is_invalid_token_with_its_description(error) -> None:
    """The challenge says invalid_token with the message; the body names the error."""
    denied = answers.unauthorized(error, "the token expired at 12:00:00")
    assert denied.status == 401
    assert _challenge(denied) == (
        'Bearer realm="archviz", error="invalid_token", '
        'error_description="the token expired at 12:00:00"'
    )
    assert denied.body["error"] == error


def test_error_description_keeps_to_rfc_6750_characters() -> None:
    """Quotes, backslashes, control and non-ASCII characters cannot break the header."""
    denied = answers.unauthorized("malformed", 'bad "kid" \\ x\r\nSet-Cookie: a=b \u00e9')
    value = _challenge(denied)
    description = value.split('error_description="', 1)[1][:-1]
    assert description == "bad 'kid' / x??Set-Cookie: a=b ?"
    assert all(0x20 <= ord(c) <= 0x7E and c not in '"\\' for c in description)


def test_long_messages_are_cut_in_the_body_and_the_header() -> None:
    """A message is at most 200 characters in both places."""
    denied = answers.unauthorized("malformed", "x" * 1000)
    assert len(denied.body["message"]) == answers.MAX_MESSAGE_CHARS
    assert len(_challenge(denied)) < 300


def test_two_tokens_offered_are_an_invalid_request() -> None:
    """400 invalid_request (RFC 6750 §3.1) for a request that offers its token wrongly."""
    denied = answers.invalid_request("a token in the header and in the subprotocol")
    assert denied.status == 400
    assert _challenge(denied).startswith('Bearer realm="archviz", error="invalid_request"')


def test_insufficient_scope_lists_the_needed_scopes_sorted() -> None:
    """403's scope attribute is space-separated, in a stable order."""
    denied = answers.insufficient_scope({"b:y", "a:x"}, "needs more")
    assert denied.status == 403
    assert _challenge(denied).endswith(', scope="a:x b:y"')


@pytest.mark.parametrize(("wait", "header"), [(0.001, "1"), (0.0, "1"), (1.0, "1"),
                                              (1.01, "2"), (29.5, "30")])  # fmt: skip
def test_retry_after_is_whole_seconds_rounded_up(wait, header) -> None:
    """Retry-After is delay-seconds: an integer, never 0, never early."""
    assert answers.retry_after(wait) == header


def test_429_carries_retry_after_and_the_rate_limit_headers() -> None:
    """The bucket's headers ride along with Retry-After."""
    rate = [("RateLimit-Policy", '"bid";q=5;w=3'), ("RateLimit", '"bid";r=0;t=1')]
    denied = answers.too_many_requests(0.4, rate, "too many bids")
    assert denied.status == 429
    assert denied.header("Retry-After") == "1"
    assert denied.header("RateLimit-Policy") == '"bid";q=5;w=3'
    assert denied.header("RateLimit") == '"bid";r=0;t=1'
    assert denied.body == {"error": "rate_limited", "message": "too many bids"}


def test_503_names_the_service() -> None:
    """No healthy replica: the body's service and message say which."""
    denied = answers.service_unavailable("bidding")
    assert denied.status == 503
    assert denied.body == {
        "error": "service_unavailable",
        "message": "no healthy replica of the bidding service",
        "service": "bidding",
    }
    assert denied.header("Retry-After") == "1"


def test_504_names_the_service_and_the_deadline() -> None:
    """A deadline passed: which service, how long it had."""
    denied = answers.deadline_exceeded("catalog", 1500)
    assert (denied.status, denied.body["service"]) == (504, "catalog")
    assert "1500 ms" in denied.body["message"]


def test_the_request_answers() -> None:
    """404 names the path (cut), 405 has Allow, 413 the limit, 400 and 502 their words."""
    assert answers.not_found("/x" * 100).status == 404
    assert len(answers.not_found("/x" * 100).body["message"]) < 100
    denied = answers.method_not_allowed(("GET", "POST"))
    assert (denied.status, denied.header("Allow")) == (405, "GET, POST")
    assert answers.body_too_large(1024).body["message"] == "the body is over 1024 bytes"
    assert answers.body_too_large(1024).status == 413
    assert answers.bad_request("amount must be a number").status == 400
    assert answers.bad_gateway("catalog", "it hung up").body["service"] == "catalog"


def test_a_denial_is_json() -> None:
    """The body is sent as JSON bytes."""
    denied = answers.service_unavailable("auth")
    assert json.loads(denied.json_bytes()) == denied.body


EXPECTED_STATUS = {
    "OK": 200,
    "CANCELLED": 502,
    "UNKNOWN": 502,
    "INVALID_ARGUMENT": 400,
    "DEADLINE_EXCEEDED": 504,
    "NOT_FOUND": 404,
    "ALREADY_EXISTS": 409,
    "PERMISSION_DENIED": 403,
    "RESOURCE_EXHAUSTED": 429,
    "FAILED_PRECONDITION": 409,
    "ABORTED": 409,
    "OUT_OF_RANGE": 400,
    "UNIMPLEMENTED": 502,
    "INTERNAL": 502,
    "UNAVAILABLE": 503,
    "DATA_LOSS": 502,
    "UNAUTHENTICATED": 401,
}


def test_the_mapping_covers_every_grpc_code() -> None:
    """The table below names every code grpc has (none is forgotten)."""
    assert set(EXPECTED_STATUS) == {code.name for code in grpc.StatusCode}


@pytest.mark.parametrize("code", list(grpc.StatusCode), ids=lambda c: c.name)
def test_every_grpc_code_has_its_http_status(code) -> None:
    """UNAUTHENTICATED 401, PERMISSION_DENIED 403, RESOURCE_EXHAUSTED 429, UNAVAILABLE 503,
    DEADLINE_EXCEEDED 504, and the others as the table says."""
    assert answers.http_status_for(code) == EXPECTED_STATUS[code.name]


@pytest.mark.parametrize("code", [c for c in grpc.StatusCode if c.name != "OK"],
                         ids=lambda c: c.name)  # fmt: skip
def test_every_grpc_failure_becomes_a_denial_naming_the_service(code) -> None:
    """The status from the table, the code's name as the error, the details as the message."""
    denied = answers.from_grpc(code, "the details", "bidding")
    assert denied.status == EXPECTED_STATUS[code.name]
    assert denied.body == {"error": code.name.lower(), "message": "the details",
                           "service": "bidding"}  # fmt: skip


def test_grpc_denials_carry_the_headers_their_status_needs() -> None:
    """401 a Bearer challenge, 429 and 503 a Retry-After; no details: a message anyway."""
    unauth = answers.from_grpc(grpc.StatusCode.UNAUTHENTICATED, None, "bidding")
    assert _challenge(unauth).startswith('Bearer realm="archviz", error="invalid_token"')
    assert unauth.body["message"] == "the bidding service answered UNAUTHENTICATED"
    assert answers.from_grpc(grpc.StatusCode.RESOURCE_EXHAUSTED, "", "b").header("Retry-After")
    assert answers.from_grpc(grpc.StatusCode.UNAVAILABLE, "", "b").header("Retry-After") == "1"


def test_ok_is_not_a_denial() -> None:
    """An OK status is relayed, never turned into a denial."""
    with pytest.raises(ValueError, match="not a denial"):
        answers.from_grpc(grpc.StatusCode.OK, "", "bidding")
