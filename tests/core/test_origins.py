"""The dashboard's origins and the CORS answer a page of one may read; and the origins of
the dashboards registered now, from the real Redis."""

import redis

from archviz.core import keys, registry
from archviz.core.origins import cors_headers, dashboard_origins, registered_dashboard_origins
from archviz.core.registry import Registration

ALLOWED = dashboard_origins(["127.0.0.1", "localhost", "[::1]", ".example.com", "*"], [8000])
PAGE = "http://127.0.0.1:8000"


def test_dashboard_origins_are_each_host_on_each_dashboard_port() -> None:
    """Host names with the dashboard's port; wildcards and domain patterns are not origins."""
    assert {"http://127.0.0.1:8000", "http://localhost:8000", "http://[::1]:8000"} == ALLOWED
    assert "http://a:80" in dashboard_origins(["a"], [80])
    assert "http://a" in dashboard_origins(["a"], [80])
    assert dashboard_origins(["a"], []) == frozenset()


def test_the_dashboard_page_gets_its_exact_origin_and_credentials() -> None:
    """Never "*": a browser sending cookies reads the answer only with its exact origin."""
    headers = cors_headers(PAGE, ALLOWED)
    assert headers["Access-Control-Allow-Origin"] == PAGE
    assert headers["Access-Control-Allow-Credentials"] == "true"
    assert headers["Vary"] == "Origin"


def test_a_stranger_gets_no_cors_headers() -> None:
    """Another site (or the LB's own origin) is not allowed to read the answer."""
    for origin in ("http://evil.example", "http://127.0.0.1:8100", None, ""):
        assert cors_headers(origin, ALLOWED) == {"Vary": "Origin"}


def test_the_registered_dashboards_ports_make_the_origins(
    redis_client: redis.Redis, settings
) -> None:
    """Each dashboard in the registry (a test's listens on a port picked at start) adds its
    port to every allowed host; a node adds none."""
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
    assert registered_dashboard_origins(redis_client) == frozenset()
    running = [
        ("dashboard-8000", "dashboard", 8000),
        ("dashboard-9123", "dashboard", 9123),
        ("node-1", "node", 8101),
    ]
    for component_id, kind, port in running:
        registry.register(redis_client, Registration(component_id, kind, 1, "127.0.0.1", port, 0))
    assert registered_dashboard_origins(redis_client) == {
        "http://127.0.0.1:8000",
        "http://localhost:8000",
        "http://127.0.0.1:9123",
        "http://localhost:9123",
    }


def test_the_listener_in_front_of_several_dashboards_is_an_origin_too(
    redis_client: redis.Redis, settings
) -> None:
    """With ARCHVIZ_DASHBOARDS > 1 learners' pages come from the balancer's listener, whose
    port the supervisor keeps in the lab's info; a value that is no port is ignored."""
    settings.ALLOWED_HOSTS = ["127.0.0.1"]
    registry.register(
        redis_client, Registration("dashboard-1", "dashboard", 1, "127.0.0.1", 9001, 0)
    )
    redis_client.hset(keys.LAB_INFO, "dashboards_port", 8000)
    assert registered_dashboard_origins(redis_client) == {
        "http://127.0.0.1:9001",
        "http://127.0.0.1:8000",
    }
    redis_client.hset(keys.LAB_INFO, "dashboards_port", "8000; evil")
    assert registered_dashboard_origins(redis_client) == {"http://127.0.0.1:9001"}
