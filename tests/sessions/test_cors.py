"""Cross-origin rules of the cart: preflights for the dashboard's page, writes guarded."""

from archviz.core.origins import dashboard_origins
from archviz.sessions.cors import preflight_headers, write_refusal

ALLOWED = dashboard_origins(["127.0.0.1", "localhost", "[::1]", ".example.com", "*"], [8000])
PAGE = "http://127.0.0.1:8000"


def test_a_stranger_gets_no_preflight_answer() -> None:
    """Another site (or the LB's own origin) may not send the cart a JSON POST."""
    for origin in ("http://evil.example", "http://127.0.0.1:8100", None, ""):
        assert preflight_headers(origin, ALLOWED) == {"Vary": "Origin"}


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
