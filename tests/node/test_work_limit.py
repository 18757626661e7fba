"""A node's /work: anyone may ask for a little work, only the lab's own clients for more."""

import json
from collections.abc import Iterator

import pytest
from django.test import override_settings

from archviz.core.http import ANONYMOUS_WORK_MS, MAX_WORK_MS, is_lab_client, lab_client_token
from archviz.node.asgi import NODE_MIDDLEWARE
from archviz.node.runtime import NodeRuntime, set_runtime
from tests.node.door_client import node_get


@pytest.fixture(autouse=True)
def node() -> Iterator[NodeRuntime]:
    runtime = NodeRuntime("node-t")
    set_runtime(runtime)
    with override_settings(MIDDLEWARE=NODE_MIDDLEWARE):
        yield runtime


async def _work(ms: str, token: str | None = None) -> tuple[int, dict]:
    answer = await node_get(f"/work?ms={ms}", token=token)
    return answer.status, json.loads(answer.body)


async def test_an_anonymous_client_cannot_ask_for_more_than_the_cap():
    """A browser's (or curl's) request for 10 s of work is refused, saying what the cap is."""
    status, body = await _work("10000")
    assert status == 400
    assert f"from 0 to {ANONYMOUS_WORK_MS}" in body["error"]
    assert "traffic generator" in body["error"]
    assert (await _work(str(ANONYMOUS_WORK_MS + 1)))[0] == 400


async def test_a_forged_token_is_an_anonymous_client():
    """A wrong token (or another lab's) gets the anonymous cap."""
    assert (await _work("150", token="0" * 64))[0] == 400
    other_lab = lab_client_token("another lab's secret key")
    assert (await _work("150", token=other_lab))[0] == 400


async def test_the_lab_own_clients_may_ask_for_more():
    """The traffic generator's token lifts the cap to MAX_WORK_MS, and no further."""
    token = lab_client_token()
    status, body = await _work(str(ANONYMOUS_WORK_MS + 20), token)
    assert status == 200 and body["worked_ms"] >= ANONYMOUS_WORK_MS + 20
    status, body = await _work(str(MAX_WORK_MS + 1), token)
    assert status == 400 and f"from 0 to {MAX_WORK_MS}" in body["error"]


async def test_small_work_needs_no_token():
    """The page's own 20 ms requests pass as before."""
    status, body = await _work("20")
    assert status == 200 and body["node"] == "node-t"


def test_the_token_is_derived_from_the_secret_key():
    """Each lab's secret gives its own token; a missing header is not a lab client."""
    assert lab_client_token("a") != lab_client_token("b")
    assert is_lab_client(lab_client_token()) and not is_lab_client(None)
