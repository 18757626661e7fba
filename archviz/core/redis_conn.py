"""Redis connections: one place that knows the URL and the timeouts.

redis-py 8 sets a 5 s socket timeout by default, which breaks blocking reads (pub/sub
listeners, XREADGROUP, the channel layer): blocking connections set it to None.
Short commands keep a short timeout so that a dead Redis is noticed quickly.
"""

from urllib.parse import parse_qsl, urlencode, urlsplit

import redis
import redis.asyncio
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

COMMAND_TIMEOUT_S = 1.0
CONNECT_TIMEOUT_S = 1.0


def redis_url() -> str:
    """The lab's Redis URL; the supervisor hands it to every process it starts."""
    url = settings.ARCHVIZ_REDIS_URL
    if not url:
        raise ImproperlyConfigured(
            "REDIS_URL is not set: start everything with `python manage.py lab`, "
            "which runs an embedded Redis, or set REDIS_URL=redis://host:port/0."
        )
    return url


def redis_address(url: str | None = None) -> str:
    """Where the lab's Redis is, as host:port (a socket's path for unix://): no password."""
    parts = urlsplit(url or redis_url())
    if parts.scheme == "unix":
        return parts.path
    host = parts.hostname or "localhost"
    return f"[{host}]:{parts.port or 6379}" if ":" in host else f"{host}:{parts.port or 6379}"


def redacted(url: str) -> str:
    """The URL with its password (in it or in ?password=) replaced by ***, fit to print."""
    parts = urlsplit(url)
    if parts.password is not None:
        host = parts.netloc.rsplit("@", 1)[1]
        parts = parts._replace(netloc=f"{parts.username or ''}:***@{host}")
    query = parse_qsl(parts.query, keep_blank_values=True)
    if any(name == "password" for name, _ in query):
        hidden = [(name, "***" if name == "password" else value) for name, value in query]
        parts = parts._replace(query=urlencode(hidden, safe="*"))
    query = f"?{parts.query}" if parts.query else ""
    return f"{parts.scheme}://{parts.netloc}{parts.path}{query}"  # keeps unix:///path


def _client(factory, url: str | None, socket_timeout: float | None):
    return factory.from_url(
        url or redis_url(),
        socket_timeout=socket_timeout,
        socket_connect_timeout=CONNECT_TIMEOUT_S,
        health_check_interval=10,
    )


def sync_client(url: str | None = None) -> redis.Redis:
    """A client for short commands, with a short timeout."""
    return _client(redis.Redis, url, COMMAND_TIMEOUT_S)


def async_client(url: str | None = None) -> redis.asyncio.Redis:
    """An asyncio client for short commands, with the short timeout (a loop's own)."""
    return _client(redis.asyncio.Redis, url, COMMAND_TIMEOUT_S)


def async_blocking_client(url: str | None = None) -> redis.asyncio.Redis:
    """An asyncio client for pub/sub and other blocking reads: no socket timeout."""
    return _client(redis.asyncio.Redis, url, None)


_shared: dict[str, redis.Redis] = {}


def shared_client() -> redis.Redis:
    """This process's pooled client for short commands (thread-safe)."""
    url = redis_url()
    if url not in _shared:
        _shared[url] = sync_client(url)
    return _shared[url]


def blocking_client(url: str | None = None) -> redis.Redis:
    """A sync client for blocking reads (XREADGROUP BLOCK): no socket timeout."""
    return _client(redis.Redis, url, None)
