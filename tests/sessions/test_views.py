"""The cart views in this process, on the real Redis and on a Redis that is not there."""

from collections.abc import Iterator

import pytest
from django.conf import settings
from django.test import AsyncClient, override_settings

from archviz.core.ports import free_port
from archviz.core.runner import Component, set_current_component
from archviz.sessions import stores
from archviz.sessions.follower import ModeFollower, set_follower

PAGE = "http://127.0.0.1:8000"


@pytest.fixture
def node(dashboard_emitter) -> Iterator[ModeFollower]:
    """This process plays node-9 in Redis mode, with the dashboard on :8000."""
    set_current_component(Component("node-9", "node", dashboard_emitter))
    follower = ModeFollower("node-9")
    follower.mode_name = "redis"
    follower.origins = frozenset({PAGE})
    set_follower(follower)
    stores._backends.clear()
    with override_settings(ROOT_URLCONF="archviz.node.urls", MIDDLEWARE=[]):
        yield follower
    stores._backends.clear()
    set_current_component(None)


async def test_redis_away_is_a_503_naming_redis_and_the_node_recovers(node) -> None:
    """No Redis: the cart answers 503 with the reason; Redis back: the same node serves again."""
    client = AsyncClient()
    client.cookies["archviz_cart"] = "k" * 32  # a session to look up
    working = settings.ARCHVIZ_REDIS_URL
    settings.ARCHVIZ_REDIS_URL = f"redis://127.0.0.1:{free_port('127.0.0.1')}/0"
    response = await client.get("/cart/", headers={"Origin": PAGE})
    assert response.status_code == 503 and "Redis is unreachable" in response.json()["error"]
    assert response["Access-Control-Allow-Origin"] == PAGE  # the page can read why
    settings.ARCHVIZ_REDIS_URL = working
    stores._backends.clear()
    response = await client.post(
        "/cart/items", {"item": "apple"}, content_type="application/json", headers={"Origin": PAGE}
    )
    assert response.status_code == 200 and response.json()["cart"] == {"apple": 1}


async def test_a_stranger_origin_gets_no_cors_and_cannot_write(node) -> None:
    """Another site's page can neither read the cart nor change it."""
    client, stranger = AsyncClient(), {"Origin": "http://evil.example"}
    response = await client.get("/cart/", headers=stranger)
    assert response.status_code == 200 and "Access-Control-Allow-Origin" not in response
    response = await client.post(
        "/cart/items", {"item": "x"}, content_type="application/json", headers=stranger
    )
    assert response.status_code == 403 and "may not change" in response.json()["error"]
    preflight = await client.options("/cart/items", headers=stranger)
    assert preflight.status_code == 204 and "Access-Control-Allow-Methods" not in preflight
