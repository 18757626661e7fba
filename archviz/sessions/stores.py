"""Django's cache session store, bound to where each mode keeps sessions, and cart I/O.

The node runs no SessionMiddleware (archviz/node/asgi.py says why), so the cart views load
and save the session themselves with the SessionStore class of the current mode.
"""

import time
from dataclasses import dataclass

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.contrib.sessions.backends.cache import SessionStore as CacheSessionStore
from django.core.cache import BaseCache
from django.utils.module_loading import import_string

from archviz.core.redis_conn import redis_url
from archviz.sessions.cart import CART_KEY, Cart, cart_of
from archviz.sessions.modes import Store

LOCAL_ALIAS = "sessions-local"  # LocMemCache: a dict inside this one process
REDIS_ALIAS = "sessions-redis"  # django.core.cache.backends.redis.RedisCache
CART_TTL_S = 3600

_backends: dict[str, BaseCache] = {}


def _backend(alias: str) -> BaseCache:
    """One cache object per process, shared by every thread (Django's `caches` gives each
    thread its own: for Redis, one connection pool per worker thread), on the lab's Redis."""
    if alias not in _backends:
        params = dict(settings.CACHES[alias])
        backend = import_string(params.pop("BACKEND"))
        location = params.pop("LOCATION", "")
        _backends[alias] = backend(redis_url() if alias == REDIS_ALIAS else location, params)
    return _backends[alias]


class CartSessionStore(CacheSessionStore):
    """Django's cache SessionStore on the cache named by `cache_alias`."""

    cache_alias = ""

    def __init__(self, session_key: str | None = None) -> None:
        SessionBase.__init__(self, session_key)
        self._cache = _backend(self.cache_alias)
        self.found = False
        self.looked_up = False

    def load(self) -> dict:
        """As Django's, but remembers whether the session was found, and lets a cache error
        (Redis away) through rather than taking it for "no session"."""
        self.looked_up = bool(self.session_key)  # no (valid) cookie: nothing to look up
        data = self._cache.get(self.cache_key) if self.looked_up else None
        self.found = data is not None
        if data is None:
            self._session_key = None
            return {}
        return data


class LocalSessionStore(CartSessionStore):
    cache_alias = LOCAL_ALIAS


class RedisSessionStore(CartSessionStore):
    cache_alias = REDIS_ALIAS


STORES: dict[Store, type[CartSessionStore]] = {
    "memory": LocalSessionStore,
    "redis": RedisSessionStore,
}


@dataclass
class Read:
    session: CartSessionStore
    cart: Cart
    ms: float


def read_cart(store: Store, session_key: str | None) -> Read:
    """Load the session the cookie names from the mode's store (one cache read)."""
    started = time.perf_counter()
    session = STORES[store](session_key)
    cart = cart_of(session.get(CART_KEY))
    return Read(session, cart, (time.perf_counter() - started) * 1000)


def write_cart(session: CartSessionStore, cart: Cart) -> tuple[bool, float]:
    """Save the cart into the session: (whether a new session was created, ms)."""
    started = time.perf_counter()
    created = session.session_key is None
    session[CART_KEY] = cart
    session.set_expiry(CART_TTL_S)
    session.save()  # a new session gets a fresh random key (Django never reuses a stale one)
    return created, (time.perf_counter() - started) * 1000
