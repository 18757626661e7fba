"""The side by side of issue 11 as real processes: `manage.py catalog`, `manage.py gateway`
and `manage.py balancer` on a Redis of their own. The same requests through the balancer's
gateway listener and through its services listener (straight to the catalog): a forged
token is refused 401 by the gateway and the catalog never sees it; past the gateway it
reaches the catalog, which serves it and counts it as forged."""

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import jwt
import pytest

from archviz.core import keys, registry
from archviz.core.registry import latest_metrics
from archviz.gateway import signing_keys, tokens
from archviz.gateway.tokens import SigningKey
from archviz.lab.embedded_redis import EmbeddedRedis
from tests.balancer.conftest import HOST, BalancerLab
from tests.gateway.edge_support import registration
from tests.harness.processes import ManagePy, stop_all
from tests.harness.wait_for import wait_for

pytestmark = pytest.mark.integration


class SideBySide(BalancerLab):
    """The balancer in front of catalog-1 (services listener) and gateway-1 (gateway
    listener), with the ring's signing key."""

    services_port = 0
    key: SigningKey

    def start_component(self, kind: str, component_id: str) -> ManagePy:
        process = ManagePy(kind, "--id", component_id, env=self.env, name=component_id)
        self.nodes[component_id] = process  # stopped with the rest by stop_all
        found = process.wait_registered(self.redis, kind)
        registry.vouch(self.redis, found.id, found.kind, found.pid, found.port)
        return process

    def listener(self, name: str) -> dict:
        return self.metrics().get("extra", {}).get(f"{name}_listener", {})

    def reached(self) -> dict[str, int]:
        found = latest_metrics(self.redis, ["catalog-1"]).get("catalog-1")
        return dict(found.extra["reached_by_token"]) if found else {}


@pytest.fixture(scope="module")
def side_by_side() -> Iterator[SideBySide]:
    server = EmbeddedRedis().start()
    lab = SideBySide(server.url)
    lab.env["ARCHVIZ_SERVICES_PORT"] = "0"
    try:
        lab.key = signing_keys.current_signing_key(lab.redis, time.time())
        lab.start_component("catalog", "catalog-1")
        lab.start_component("gateway", "gateway-1")
        lab.start_lb()
        lab.wait_lb_ready()
        for name, backend in (("services", "catalog-1"), ("gateway", "gateway-1")):
            wait_for(
                lambda name=name: lab.listener(name).get("backends", []),
                f"{backend} healthy behind the {name} listener",
                30,
                until=lambda found, backend=backend: (
                    [(b["id"], b["health"]) for b in found] == [(backend, "healthy")]
                ),
            )
        yield lab
        lab.stop_lb()
    finally:
        stop_all([lab.lb, *lab.nodes.values()])
        server.stop()


def forged(key: SigningKey) -> str:
    """A token naming the ring's key, signed by another."""
    now = time.time()
    claims = {"sub": "mallory", "role": "bidder", "scope": "auctions:read", "aud": tokens.AUDIENCE,
              "iss": tokens.ISSUER, "iat": now, "exp": now + 60, "jti": "f" * 20}  # fmt: skip
    headers = {"kid": key.kid, "typ": tokens.TOKEN_TYPE}
    return jwt.encode(claims, SigningKey.generate().private_key, algorithm="EdDSA", headers=headers)


def get(port: int, path: str, token: str) -> tuple[int, dict, dict]:
    request = urllib.request.Request(
        f"http://{HOST}:{port}{path}", headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, dict(answer.headers), json.loads(answer.read())
    except urllib.error.HTTPError as refused:
        return refused.code, dict(refused.headers), json.loads(refused.read())


def fresh_reached(lab: SideBySide, until) -> dict[str, int]:
    return wait_for(lab.reached, "the catalog's heartbeat counts", 10, until=until)


def test_the_services_listener_publishes_its_port_and_its_catalog_replicas(side_by_side) -> None:
    listener = side_by_side.listener("services")
    assert listener["port"] not in (0, side_by_side.lb_port, side_by_side.gateway_port)
    assert listener["algorithm"] == "round_robin"
    assert [b["id"] for b in listener["backends"]] == ["catalog-1"]


def test_a_forged_token_reaches_the_catalog_past_the_gateway_only(side_by_side) -> None:
    """Through the gateway: 401 bad_signature, the catalog's counts unmoved. Past it: the
    catalog serves it (200) and counts one more forged."""
    lab = side_by_side
    token = forged(lab.key)
    before = fresh_reached(lab, until=lambda counts: "forged" in counts)
    status, headers, body = get(lab.gateway_port, "/catalog/auctions", token)
    assert (status, body["error"]) == (401, "bad_signature")
    assert headers["X-Archviz-Gateway"] == "gateway-1"
    status, headers, body = get(lab.listener("services")["port"], "/catalog/auctions", token)
    assert status == 200 and "auctions" in body
    assert headers["X-Archviz-Service"] == "catalog-1"
    after = fresh_reached(lab, until=lambda counts: counts["forged"] > before["forged"])
    assert after["forged"] == before["forged"] + 1
    assert sum(after.values()) == sum(before.values()) + 1  # the 401 never reached it


def test_a_valid_token_reaches_the_catalog_both_ways(side_by_side) -> None:
    lab = side_by_side
    token = tokens.issue("ada", "viewer", lab.key, time.time())
    before = fresh_reached(lab, until=lambda counts: "valid" in counts)
    for port in (lab.gateway_port, lab.listener("services")["port"]):
        status, _headers, _body = get(port, "/catalog/auctions", token)
        assert status == 200
    fresh_reached(lab, until=lambda counts: counts["valid"] == before["valid"] + 2)


def preflight(port: int, origin: str) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"http://{HOST}:{port}/catalog/auctions",
        method="OPTIONS",
        headers={"Origin": origin, "Access-Control-Request-Method": "GET",
                 "Access-Control-Request-Headers": "authorization"},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, dict(answer.headers)
    except urllib.error.HTTPError as refused:
        return refused.code, dict(refused.headers)


def test_a_dashboards_page_may_call_both_listeners_and_a_stranger_neither(side_by_side) -> None:
    """Through the balancer, the gateway and the catalog each answer a preflight from a
    registered dashboard's page (the balancer adds no grant of its own), and refuse one
    from any other origin."""
    lab = side_by_side
    registry.register(lab.redis, registration("dashboard-1", "dashboard", 8000))
    lab.redis.persist(keys.registry("dashboard", "dashboard-1"))
    page = f"http://{HOST}:8000"
    for port in (lab.gateway_port, lab.listener("services")["port"]):
        status, headers = wait_for(
            lambda port=port: preflight(port, page), "the dashboard's origin followed", 10,
            until=lambda answer: answer[0] == 204,
        )  # fmt: skip
        assert headers["Access-Control-Allow-Origin"] == page
        assert headers["Access-Control-Allow-Credentials"] == "true"
        status, headers = preflight(port, "http://127.0.0.1:8888")
        assert status == 403 and "Access-Control-Allow-Origin" not in headers
