"""POST /auth/token's request: a name and a role (instructor only for instructors), checked."""

import pytest

from archviz.gateway import token_requests


def test_a_token_request_names_a_name_and_a_role() -> None:
    """Anyone may ask for viewer or bidder; ttl_s is optional."""
    parse = token_requests.parse_token_request
    assert parse(b'{"name": "ada", "role": "viewer"}', instructor=False) == ("ada", "viewer", 300)
    assert parse(b'{"name": "bo", "role": "bidder", "ttl_s": 5}', instructor=False).ttl_s == 5.0


def test_only_an_instructor_may_ask_for_the_instructor_role() -> None:
    """A learner asking for instructor is refused with 403; an instructor gets it."""
    body = b'{"name": "ada", "role": "instructor"}'
    with pytest.raises(token_requests.TokenRequestRefused) as refused:
        token_requests.parse_token_request(body, instructor=False)
    assert refused.value.status == 403 and "only an instructor" in refused.value.message
    assert token_requests.parse_token_request(body, instructor=True).role == "instructor"


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"", "not JSON"),
        (b"{", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b"[1]", "not a JSON object"),
        (b'"ada"', "not a JSON object"),
        (b'{"name": "ada", "role": "viewer", "scope": "auth:admin"}', "unknown field 'scope'"),
        (b'{"role": "viewer"}', "name must be"),
        (b'{"name": "", "role": "viewer"}', "name must be"),
        (b'{"name": 7, "role": "viewer"}', "name must be"),
        (b'{"name": "ada"}', "role must be one of viewer, bidder, instructor"),
        (b'{"name": "ada", "role": "root"}', "role must be"),
        (b'{"name": "ada", "role": "viewer", "ttl_s": 1}', "ttl_s must be"),
        (b'{"name": "ada", "role": "viewer", "ttl_s": 100000}', "ttl_s must be"),
        (b'{"name": "ada", "role": "viewer", "ttl_s": "60"}', "ttl_s must be"),
        (b'{"name": "ada", "role": "viewer", "ttl_s": true}', "ttl_s must be"),
        (b'{"name": "ada", "role": "viewer", "ttl_s": NaN}', "ttl_s must be"),
        (b'{"name": "' + b"a" * 2000 + b'"}', "over 1024 bytes"),
    ],
)
def test_a_malformed_token_request_is_400_saying_what_is_wrong(body, words) -> None:
    """Every bad request is refused before any token is signed, naming the problem."""
    with pytest.raises(token_requests.TokenRequestRefused) as refused:
        token_requests.parse_token_request(body, instructor=True)
    assert refused.value.status == 400
    assert words in refused.value.message
