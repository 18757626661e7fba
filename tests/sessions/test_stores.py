"""Django's cache session store on each mode's cache: process memory, or the real Redis."""

from collections.abc import Iterator

import pytest
import redis
from django.conf import settings

from archviz.core.ports import free_port
from archviz.sessions import keys as sessions_keys
from archviz.sessions import stores
from archviz.sessions.stores import read_cart, write_cart


@pytest.fixture
def fresh_backends(redis_url: str) -> Iterator[None]:
    """Each test connects anew, to the Redis that settings name now."""
    stores._backends.clear()
    yield
    stores._backends.clear()


@pytest.mark.parametrize("store", ["memory", "redis"])
def test_a_saved_cart_is_found_again_by_its_key(store: str, fresh_backends: None) -> None:
    """Write a cart into a new session; reading with its key finds the same cart."""
    first = read_cart(store, None)
    assert not first.session.found and first.cart == {}
    created, _ms = write_cart(first.session, {"apple": 2})
    assert created and first.session.session_key
    again = read_cart(store, first.session.session_key)
    assert again.session.found and again.cart == {"apple": 2}


@pytest.mark.parametrize("store", ["memory", "redis"])
def test_an_unknown_key_is_not_found_and_never_reused(store: str, fresh_backends: None) -> None:
    """A key the store does not hold reads as no session; saving makes a fresh key."""
    stale = "k" * 32
    read = read_cart(store, stale)
    assert not read.session.found and read.session.session_key is None
    write_cart(read.session, {"pear": 1})
    assert read.session.session_key not in (None, stale)


def test_redis_sessions_live_under_the_archviz_prefix(fresh_backends: None, redis_client) -> None:
    """The Redis cache keeps sessions under sessions_keys.CACHE_PREFIX, with an expiry."""
    read = read_cart("redis", None)
    write_cart(read.session, {"tea": 1})
    [key] = list(redis_client.scan_iter(match=sessions_keys.CACHE_PREFIX + ":*"))
    assert read.session.session_key in key.decode()
    assert 0 < redis_client.ttl(key) <= stores.CART_TTL_S


def test_redis_away_is_an_error_not_an_empty_cart(fresh_backends: None) -> None:
    """With Redis unreachable, reading a session raises instead of reading as "not found"."""
    settings.ARCHVIZ_REDIS_URL = f"redis://127.0.0.1:{free_port('127.0.0.1')}/0"
    with pytest.raises(redis.ConnectionError):
        read_cart("redis", "k" * 32)
