"""The dashboard's origins, and the CORS answer a page from one of them may read (pure).

A dashboard page calls the load balancer, another origin, with credentials (the sessions
demo's cart cookie). A browser lets the page read such an answer only if it names the page's
exact origin and allows credentials, so the cart's node and the balancer's own answers both
name it, for the dashboard's origins only.

The rules are pure; `registered_dashboard_origins` reads the dashboards' ports from the
registry (a test's dashboard listens on a port picked at start).
"""

from collections.abc import Iterable

import redis
from django.conf import settings

from archviz.core import keys, registry
from archviz.core.http import NODE_HEADER


def dashboard_origins(hosts: Iterable[str], ports: Iterable[int]) -> frozenset[str]:
    """Every origin a dashboard page can have: each host name it answers to, on each port."""
    names = [h for h in hosts if h and h != "*" and not h.startswith(".")]
    origins = set()
    for port in ports:
        for host in names:
            origins.add(f"http://{host}:{port}")
            if port == 80:  # a browser leaves the default port out of the Origin header
                origins.add(f"http://{host}")
    return frozenset(origins)


def cors_headers(origin: str | None, allowed: frozenset[str]) -> dict[str, str]:
    """The CORS headers of an answer to `origin`: its exact name, or none for a stranger."""
    headers = {"Vary": "Origin"}  # the answer differs by origin: caches must not share it
    if origin and origin in allowed:
        headers |= {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Credentials": "true",
            "Access-Control-Expose-Headers": NODE_HEADER,
        }
    return headers


def dashboard_hosts() -> list[str]:
    """The host names the dashboards answer to (dashboard_origins drops "*" and patterns)."""
    return [*settings.ALLOWED_HOSTS, settings.ARCHVIZ_HOST]


def registered_dashboard_origins(client: redis.Redis) -> frozenset[str]:
    """The origins of the dashboards registered now, and of the balancer's listener in front
    of them when the lab runs several: the learners' pages come from that one (blocking: run
    it off the event loop)."""
    ports = [r.port for r in registry.registered(client, "dashboard")]
    if (front := client.hget(keys.LAB_INFO, "dashboards_port")) and front.isdigit():
        ports.append(int(front))
    return dashboard_origins(dashboard_hosts(), ports)
