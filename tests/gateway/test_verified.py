"""The cache of verified tokens: a hit skips only the signature, never the checks of what
can change (the key, the dates, the revocations), and it stays bounded."""

import pytest

from archviz.gateway import tokens
from archviz.gateway.tokens import KeySet, Revocations, SigningKey, TokenError
from archviz.gateway.verified import VerifiedTokens

NOW = 1_700_000_000.0


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture(scope="module")
def keys(key: SigningKey) -> KeySet:
    return KeySet.from_jwks({"keys": [key.public_jwk()]})


def _error(cache: VerifiedTokens, token: str, keys: KeySet, now: float, **options) -> str:
    with pytest.raises(TokenError) as refused:
        cache.verify(token, keys, now=now, **options)
    return refused.value.error


def test_a_second_use_is_a_hit_with_the_same_claims(key, keys) -> None:
    cache = VerifiedTokens()
    token = tokens.issue("ada", "viewer", key, NOW)
    first = cache.verify(token, keys, now=NOW + 1)
    assert cache.verify(token, keys, now=NOW + 2) == first == tokens.verify(token, keys, now=NOW)
    assert (cache.hits, len(cache)) == (1, 1)


def test_a_cached_token_that_is_revoked_is_refused_at_once(key, keys) -> None:
    """The revocations are the caller's current ones, checked on every hit."""
    cache = VerifiedTokens()
    token = tokens.issue("ada", "viewer", key, NOW)
    claims = cache.verify(token, keys, now=NOW + 1)
    revoked = Revocations(jtis=frozenset({claims["jti"]}))
    assert _error(cache, token, keys, NOW + 1, revocations=revoked) == "revoked"
    everyone = Revocations(issued_before=NOW + 1)
    cache.verify(token, keys, now=NOW + 1)
    assert _error(cache, token, keys, NOW + 1, revocations=everyone) == "expired"


def test_a_cached_token_expires_as_it_would_uncached(key, keys) -> None:
    cache = VerifiedTokens()
    token = tokens.issue("ada", "viewer", key, NOW, ttl_s=10)
    cache.verify(token, keys, now=NOW + 1)
    assert _error(cache, token, keys, NOW + 10 + tokens.LEEWAY_S) == "expired"
    assert len(cache) == 0


def test_a_retired_key_refuses_its_cached_tokens(key) -> None:
    retiring = KeySet.from_jwks({"keys": [key.public_jwk()]}, retire_at={key.kid: NOW + 10})
    cache = VerifiedTokens()
    token = tokens.issue("ada", "viewer", key, NOW)
    cache.verify(token, retiring, now=NOW + 9)
    assert _error(cache, token, retiring, NOW + 10) == "unknown_key"


def test_a_new_key_set_verifies_afresh(key, keys) -> None:
    """Another ring (a rotation that dropped the key): the entry does not hold for it."""
    cache = VerifiedTokens()
    token = tokens.issue("ada", "viewer", key, NOW)
    cache.verify(token, keys, now=NOW + 1)
    other = KeySet.from_jwks({"keys": [SigningKey.generate().public_jwk()]})
    assert _error(cache, token, other, NOW + 1) == "unknown_key"
    assert cache.hits == 0


def test_refused_tokens_are_not_kept(key, keys) -> None:
    cache = VerifiedTokens()
    forged = tokens.issue("ada", "viewer", key, NOW)[:-4] + "AAAA"
    for _ in range(2):
        assert _error(cache, forged, keys, NOW + 1) == "bad_signature"
    assert len(cache) == 0


def test_the_cache_keeps_at_most_its_size_dropping_the_oldest(key, keys) -> None:
    cache = VerifiedTokens(max_entries=3)
    issued = [tokens.issue(f"user{i}", "viewer", key, NOW) for i in range(4)]
    for token in issued:
        cache.verify(token, keys, now=NOW + 1)
    assert len(cache) == 3
    cache.verify(issued[0], keys, now=NOW + 1)  # dropped: verified again, not a hit
    cache.verify(issued[3], keys, now=NOW + 1)
    assert cache.hits == 1
