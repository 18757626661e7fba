"""One-time sign-in links, as Jupyter prints its token URL: the person at the lab's machine
opens one and their browser is the lab's instructor.

A link's token is random, used up by its first redemption, expires, and is only printed on
the lab's terminal. Redis keeps the token's SHA-256, never the token, so that whoever reads
the lab's Redis cannot sign in with what they find there.
"""

import hashlib
import ipaddress
import secrets

import redis

from archviz.core import keys
from archviz.core.registry import LOOPBACK

TTL_S = 15 * 60
PATH = "/accounts/solo/"
MAX_TOKEN_CHARS = 64  # token_urlsafe(32) is 43: anything longer was never issued


def issue(client: redis.Redis, ttl: int = TTL_S) -> str:
    """A new token, redeemable once within `ttl` seconds."""
    token = secrets.token_urlsafe(32)
    client.set(keys.signin_link(_digest(token)), 1, ex=ttl)
    return token


def redeem(client: redis.Redis, token: str) -> bool:
    """Use the token up: True for the first redemption of a live token, else False."""
    if not token or len(token) > MAX_TOKEN_CHARS:
        return False
    return client.getdel(keys.signin_link(_digest(token))) is not None  # atomic: one winner


def url(host: str, port: int, token: str) -> str:
    """The link a browser opens: a wildcard address (0.0.0.0, ::) as loopback."""
    if host in ("0.0.0.0", "", "::"):
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}{PATH}{token}"


def is_loopback(address: str) -> bool:
    """Whether an address (or host name) is this machine's loopback."""
    if address in LOOPBACK:
        return True
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)  # ::ffff:127.0.0.1, from a dual-stack socket
    return ip.is_loopback or (mapped is not None and mapped.is_loopback)


def describe(link: str, ttl: int = TTL_S) -> str:
    """The line the terminal shows with a link."""
    return f"sign in as the lab's instructor (one use, {ttl // 60} min): {link}"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
