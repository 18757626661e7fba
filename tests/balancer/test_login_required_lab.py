"""ARCHVIZ_REQUIRE_LOGIN covers what sits behind the balancer, in a real lab: a stranger is
refused at the balancer, a logged-in browser and the lab's own clients get through."""

import json

import aiohttp
import pytest

from archviz.core import keys, registry
from archviz.core.http import LAB_CLIENT_HEADER, NODE_HEADER, lab_client_token
from archviz.core.redis_conn import sync_client
from archviz.core.registry import Metrics
from tests.harness.clients import login_cookies
from tests.harness.lab import RunningLab
from tests.harness.wait_for import async_wait_for, wait_for

pytestmark = pytest.mark.integration

SECRET = "login-required-lab-secret-key-for-this-test-only-0123456789"


def _balancer(lab: RunningLab) -> Metrics | None:
    raw = sync_client(lab.redis_url).get(keys.metrics("lb"))
    return Metrics.from_json(raw) if raw else None


@pytest.fixture(scope="module")
def closed_lab(tmp_path_factory):
    """A lab for logged-in users only, with a learner account."""
    lab = RunningLab(
        tmp_path_factory.mktemp("closed-lab"),
        ARCHVIZ_REQUIRE_LOGIN="1",
        ARCHVIZ_SECRET_KEY=SECRET,
    ).start()
    try:
        wait_for(
            lambda: _balancer(lab),
            "the balancer with a healthy node",
            40,
            until=lambda m: (
                m is not None and any(b["health"] == "healthy" for b in m.extra.get("backends", []))
            ),
        )
        lab.create_user("learner", "learner-pass-123", instructor=False)
        yield lab
    finally:
        lab.process.close(timeout=15)


def _lb(lab: RunningLab) -> str:
    balancer = registry.lookup(sync_client(lab.redis_url), "balancer", "lb")
    return f"http://127.0.0.1:{balancer.port}"


async def _get(url: str, **headers: str) -> tuple[int, dict, dict]:
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as answer:
        return answer.status, dict(answer.headers), json.loads(await answer.text() or "{}")


async def test_a_stranger_is_refused_at_the_balancer(closed_lab) -> None:
    """No session: 401 from the balancer itself, naming the login page; no node is asked."""
    status, headers, body = await _get(_lb(closed_lab) + "/work?ms=1")
    assert status == 401
    assert headers[NODE_HEADER] == "none"
    assert "login required" in body["error"] and "/accounts/login/" in body["error"]
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(_lb(closed_lab).replace("http", "ws") + "/ws/hold/")
    assert refused.value.status == 401
    await async_wait_for(
        lambda: _balancer(closed_lab).extra["login_refused_total"] >= 2, "refusals counted"
    )


async def test_a_logged_in_browser_gets_through(closed_lab) -> None:
    """The dashboard's session cookie (a browser sends it to every port of the host)."""
    cookies = await login_cookies(closed_lab.url, "learner", "learner-pass-123")
    cookie = f"sessionid={cookies['sessionid']}"
    status, headers, _ = await _get(_lb(closed_lab) + "/work?ms=1", Cookie=cookie)
    assert status == 200 and headers[NODE_HEADER].startswith("node-")
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(
            _lb(closed_lab).replace("http", "ws") + "/ws/hold/", headers={"Cookie": cookie}
        ) as ws,
    ):
        assert (await ws.receive_json(timeout=5))["node"].startswith("node-")


async def test_the_labs_own_clients_get_through(closed_lab) -> None:
    """The traffic generator's and the bots' token, which no browser is ever sent."""
    token = {LAB_CLIENT_HEADER: lab_client_token(SECRET)}
    status, headers, _ = await _get(_lb(closed_lab) + "/work?ms=1", **token)
    assert status == 200 and headers[NODE_HEADER].startswith("node-")
