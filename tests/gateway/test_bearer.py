"""Where the token comes from: the Authorization header, a WebSocket's subprotocols, or its
first message."""

import json

import pytest

from archviz.gateway import bearer
from archviz.gateway.bearer import WsBearer
from archviz.gateway.tokens import MAX_TOKEN_CHARS, TokenError

JWT = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJhZGEifQ.c2ln-_"


def _error(call, *args) -> TokenError:
    with pytest.raises(TokenError) as refused:
        call(*args)
    return refused.value


@pytest.mark.parametrize(
    "value",
    [f"Bearer {JWT}", f"bearer {JWT}", f"BEARER {JWT}", f"  Bearer   {JWT}  ", "Bearer a+b/c=="],
)
def test_the_bearer_scheme_yields_its_token(value) -> None:
    """The scheme in any case, spaces around: the token itself (RFC 6750 b64token)."""
    assert bearer.bearer_from_header(value) == value.split()[-1]


@pytest.mark.parametrize("value", [None, "", "   ", "Basic YWRhOnB3", "Token abc", JWT])
def test_no_bearer_token_is_missing(value) -> None:
    """No header, or another scheme: missing (the bare challenge, RFC 6750 §3.1)."""
    assert _error(bearer.bearer_from_header, value).error == "missing"


def test_another_scheme_is_named() -> None:
    """The message says which scheme was sent instead."""
    assert "'Basic'" in _error(bearer.bearer_from_header, "Basic YWRh").message


@pytest.mark.parametrize(
    "value",
    ["Bearer", "Bearer ", "Bearer a b", "Bearer a,b", 'Bearer "abc"', "Bearer =abc",
     "Bearer ab\u00e9", "Bearer " + "a" * (MAX_TOKEN_CHARS + 1)],
)  # fmt: skip
def test_a_bearer_header_with_a_bad_token_is_malformed(value) -> None:
    """Bearer with nothing, two words, or characters outside b64token: malformed."""
    assert _error(bearer.bearer_from_header, value).error == "malformed"


@pytest.mark.parametrize(
    "value",
    [f"bearer, {JWT}", f"bearer,{JWT}", f"archviz.v1, bearer, {JWT}", f"bearer, {JWT}, chat"],
)
def test_the_token_follows_bearer_in_the_subprotocols(value) -> None:
    """The subprotocol after `bearer` is the token; the server echoes `bearer`, never it."""
    assert bearer.bearer_from_subprotocols(value) == WsBearer(JWT, "bearer")


@pytest.mark.parametrize("value", [None, "", "archviz.v1", JWT, "Bearer, x"])
def test_no_bearer_subprotocol_means_no_token_there(value) -> None:
    """Without `bearer` (exactly, case-sensitive) the token may come in the first message."""
    assert bearer.bearer_from_subprotocols(value) is None


@pytest.mark.parametrize(
    "value", ["bearer", "bearer, ", f"{JWT}, bearer", "bearer, a b", "bearer, a/b",
              f"bearer, {JWT}, bearer, {JWT}"],
)  # fmt: skip
def test_bearer_without_a_good_token_after_it_is_malformed(value) -> None:
    """Nothing after bearer, a value no JWT has, or bearer twice."""
    assert _error(bearer.bearer_from_subprotocols, value).error == "malformed"


def test_the_first_message_carries_the_token() -> None:
    """{"type": "auth", "token": ...} as text or bytes."""
    message = json.dumps({"type": "auth", "token": JWT})
    assert bearer.bearer_from_first_message(message) == JWT
    assert bearer.bearer_from_first_message(message.encode()) == JWT


@pytest.mark.parametrize(
    "text", ["", "hello", "[]", '{"type": "bid", "token": "x"}', '{"token": "x"}', b"\xff"]
)
def test_a_first_message_that_is_not_auth_is_missing(text) -> None:
    """Anything but an auth message first: no token."""
    assert _error(bearer.bearer_from_first_message, text).error == "missing"


@pytest.mark.parametrize(
    "token",
    ["", 7, None, "a b", "a+b", "x" * (MAX_TOKEN_CHARS + 1)],
)
def test_an_auth_message_with_a_bad_token_is_malformed(token) -> None:
    """An auth message whose token is empty, not a string, or not a JWT's characters."""
    text = json.dumps({"type": "auth", "token": token})
    assert _error(bearer.bearer_from_first_message, text).error == "malformed"


def test_an_oversized_first_message_is_refused_unread() -> None:
    """A first message over twice the token limit is not parsed."""
    text = json.dumps({"type": "auth", "token": "x" * 10, "pad": "y" * 2 * MAX_TOKEN_CHARS})
    assert _error(bearer.bearer_from_first_message, text).error == "malformed"
