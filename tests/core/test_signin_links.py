"""One-time sign-in links on a real Redis: issued, redeemed once, expired, never stored."""

import hashlib
from concurrent.futures import ThreadPoolExecutor

import pytest

from archviz.core import keys, signin_links
from archviz.core.redis_conn import sync_client
from tests.harness.wait_for import wait_for


def _key(token: str) -> str:
    return keys.signin_link(hashlib.sha256(token.encode()).hexdigest())


def test_a_link_is_redeemed_once(redis_client) -> None:
    """The first redemption wins; the second, and an unknown or empty token, do not."""
    token = signin_links.issue(redis_client)
    assert len(token) >= 43  # 32 random bytes
    assert signin_links.redeem(redis_client, token) is True
    assert signin_links.redeem(redis_client, token) is False
    assert signin_links.redeem(redis_client, signin_links.issue(redis_client) + "x") is False
    assert signin_links.redeem(redis_client, "") is False
    assert signin_links.redeem(redis_client, "a" * 10_000) is False


def test_redis_keeps_the_tokens_hash_with_an_expiry_and_never_the_token(redis_client) -> None:
    """Whoever reads the lab's Redis finds a SHA-256 that expires, not a link to use."""
    token = signin_links.issue(redis_client, ttl=600)
    assert 0 < redis_client.ttl(_key(token)) <= 600
    stored = [(key, redis_client.get(key)) for key in redis_client.scan_iter("archviz:signin:*")]
    assert [key.decode() for key, _ in stored] == [_key(token)]
    assert all(token.encode() not in key + value for key, value in stored)


def test_an_expired_link_is_refused(redis_client) -> None:
    """Once its key has expired in Redis, a link signs nobody in."""
    token = signin_links.issue(redis_client)
    redis_client.pexpire(_key(token), 1)
    wait_for(lambda: not redis_client.exists(_key(token)), "the link's key to expire")
    assert signin_links.redeem(redis_client, token) is False


def test_links_redeemed_at_once_from_many_clients_have_one_winner(redis_url: str) -> None:
    """Two browsers racing with one link: exactly one is signed in."""
    token = signin_links.issue(sync_client(redis_url))
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: signin_links.redeem(sync_client(redis_url), token),
                                range(16)))  # fmt: skip
    assert results.count(True) == 1


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("127.0.0.1", "http://127.0.0.1:8000/accounts/solo/T"),
        ("0.0.0.0", "http://127.0.0.1:8000/accounts/solo/T"),
        ("::", "http://127.0.0.1:8000/accounts/solo/T"),
        ("::1", "http://[::1]:8000/accounts/solo/T"),
        ("10.1.2.3", "http://10.1.2.3:8000/accounts/solo/T"),
    ],
)
def test_a_link_names_an_address_a_browser_can_open(host: str, url: str) -> None:
    assert signin_links.url(host, 8000, "T") == url


@pytest.mark.parametrize(
    ("address", "loopback"),
    [("127.0.0.1", True), ("127.4.5.6", True), ("::1", True), ("::ffff:127.0.0.1", True),
     ("localhost", True), ("0.0.0.0", False), ("10.0.0.7", False), ("", False),
     ("example.org", False)],
)  # fmt: skip
def test_is_loopback(address: str, loopback: bool) -> None:
    assert signin_links.is_loopback(address) is loopback
