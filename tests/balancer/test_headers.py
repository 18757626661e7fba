"""The headers the balancer relays and adds: the node that answered, and CORS."""

from multidict import CIMultiDict

from archviz.balancer.headers import response_headers
from archviz.core.origins import cors_headers, dashboard_origins

PAGE = "http://127.0.0.1:8000"
ALLOWED = dashboard_origins(["127.0.0.1"], [8000])


def test_the_lb_keeps_a_nodes_own_cors_answer_and_adds_its_own_otherwise() -> None:
    """A node's exact origin and credentials survive the LB; other reads still get "*"."""
    upstream = CIMultiDict(cors_headers(PAGE, ALLOWED) | {"Content-Type": "application/json"})
    headers = response_headers(upstream, "GET", "node-2")
    assert headers.getall("Access-Control-Allow-Origin") == [PAGE]
    assert headers["Access-Control-Allow-Credentials"] == "true"
    assert headers["X-Archviz-Node"] == "node-2"
    plain = response_headers(CIMultiDict({"Content-Type": "application/json"}), "GET", "node-1")
    assert plain["Access-Control-Allow-Origin"] == "*"


def test_a_listener_without_open_reads_adds_no_star() -> None:
    """The gateway's listener: a backend that grants no page stays so behind the LB."""
    plain = CIMultiDict({"Content-Type": "application/json"})
    headers = response_headers(plain, "GET", "gateway-1", open_reads=False)
    assert "Access-Control-Allow-Origin" not in headers
    assert headers["X-Archviz-Node"] == "gateway-1"
    granted = CIMultiDict(cors_headers(PAGE, ALLOWED))
    assert response_headers(granted, "GET", "gateway-1", open_reads=False).getall(
        "Access-Control-Allow-Origin"
    ) == [PAGE]


def test_a_dashboards_request_carries_the_balancers_vouch_and_not_the_clients() -> None:
    """A client's own lab client header is replaced by the balancer's (core/forwarded.py)."""
    from archviz.balancer.headers import vouch
    from archviz.core.http import LAB_CLIENT_HEADER, lab_client_token

    headers = vouch(CIMultiDict({LAB_CLIENT_HEADER: "forged", "Accept": "*/*"}))
    assert headers.getall(LAB_CLIENT_HEADER) == [lab_client_token()]
    assert headers["Accept"] == "*/*"
