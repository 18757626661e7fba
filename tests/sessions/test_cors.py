"""Cross-origin rules of the cart: exact dashboard origins with credentials, writes guarded."""

from multidict import CIMultiDict

from archviz.balancer.headers import response_headers
from archviz.core.origins import cors_headers, dashboard_origins
from archviz.sessions.cors import preflight_headers, write_refusal

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
    """Another site (or the LB's own origin) is not allowed to read the cart."""
    for origin in ("http://evil.example", "http://127.0.0.1:8100", None, ""):
        assert cors_headers(origin, ALLOWED) == {"Vary": "Origin"}
        assert "Access-Control-Allow-Methods" not in preflight_headers(origin, ALLOWED)


def test_a_preflight_allows_json_posts_from_the_dashboard() -> None:
    """The OPTIONS answer names POST and Content-Type, and may be cached for a while."""
    headers = preflight_headers(PAGE, ALLOWED)
    assert "POST" in headers["Access-Control-Allow-Methods"]
    assert headers["Access-Control-Allow-Headers"] == "Content-Type"
    assert int(headers["Access-Control-Max-Age"]) > 0


def test_writes_need_the_dashboards_origin_and_a_json_body() -> None:
    """A forged or form-encoded cart change is refused with a reason."""
    assert write_refusal(PAGE, "application/json", ALLOWED) is None
    assert write_refusal(PAGE, "application/json; charset=utf-8", ALLOWED) is None
    assert "Origin header" in write_refusal(None, "application/json", ALLOWED)
    assert "may not change" in write_refusal("http://evil.example", "application/json", ALLOWED)
    assert "must be JSON" in write_refusal(PAGE, "text/plain", ALLOWED)
    assert "must be JSON" in write_refusal(PAGE, "application/x-www-form-urlencoded", ALLOWED)


def test_the_lb_keeps_a_nodes_own_cors_answer_and_adds_its_own_otherwise() -> None:
    """A node's exact origin and credentials survive the LB; other reads still get "*"."""
    upstream = CIMultiDict(cors_headers(PAGE, ALLOWED) | {"Content-Type": "application/json"})
    headers = response_headers(upstream, "GET", "node-2")
    assert headers.getall("Access-Control-Allow-Origin") == [PAGE]
    assert headers["Access-Control-Allow-Credentials"] == "true"
    assert headers["X-Archviz-Node"] == "node-2"
    plain = response_headers(CIMultiDict({"Content-Type": "application/json"}), "GET", "node-1")
    assert plain["Access-Control-Allow-Origin"] == "*"
