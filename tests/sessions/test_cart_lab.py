"""The cart through a real LB to real nodes, in each session mode, with real Redis and kills."""

import json

import pytest

from tests.harness.clients import lab_socket, next_frame
from tests.harness.lab import RunningLab
from tests.sessions.helpers import (
    CartClient,
    answers_after_kill,
    kill_node,
    session_events,
    switch_mode,
    wait_for_restart,
)

pytestmark = pytest.mark.integration


async def test_local_sessions_show_the_cart_only_on_the_node_that_holds_it(
    lab: RunningLab, instructor_cookies: dict
) -> None:
    """In-process sessions, round robin: the cart is found on one node of three, not the others."""
    await switch_mode(lab, instructor_cookies, "local")
    async with lab_socket(lab.url) as ws, CartClient(lab) as learner:
        await next_frame(ws, "welcome")
        added = await learner.add("apple", trace="a1ce")
        assert added["items"] == 1 and added["write"]["created"]
        assert added["looked_up"] is False, "no cookie yet: the store was not asked"
        views = [await learner.view(trace=f"{i:04x}") for i in range(6)]
        events = await session_events(ws, {"a1ce"} | {v["trace"] for v in views[:3]})
    [write] = events["a1ce"]
    reads = {v["node"]: events[v["trace"]][0] for v in views[:3]}
    holder = added["node"]
    assert {v["node"] for v in views} == {"node-1", "node-2", "node-3"}
    for view in views:
        assert view["found"] == (view["node"] == holder), view
        assert view["cart"] == ({"apple": 1} if view["node"] == holder else {})
    assert (write["kind"], write["src"], write["detail"]["where"], write["detail"]["items"]) == (
        "session.write", holder, f"{holder} memory", 1,
    )  # fmt: skip
    for node, read in reads.items():
        assert (read["kind"], read["src"], read["dst"]) == ("session.read", node, node)
        assert read["detail"]["where"] == f"{node} memory"
        assert read["detail"]["found"] == (node == holder)


async def test_sticky_sessions_keep_the_cart_until_its_node_is_killed(
    lab: RunningLab, instructor_cookies: dict
) -> None:
    """Cookie hash: requests reach one node and the cart grows; SIGKILL it and the cart is gone."""
    await switch_mode(lab, instructor_cookies, "sticky")
    async with CartClient(lab) as learner:
        await learner.view()  # routed by address; the node sets the archviz_sticky cookie
        home = (await learner.view())["node"]  # from now on the LB hashes the cookie
        for item in ("apple", "bread", "cheese"):
            assert (await learner.add(item))["node"] == home
        views = [await learner.view() for _ in range(5)]
        assert {v["node"] for v in views} == {home}
        assert all(v["found"] and v["items"] == 3 for v in views)

        old_pid = kill_node(lab, home)
        [after] = await answers_after_kill(learner, 1)
        assert after["node"] != home and not after["found"] and after["cart"] == {}
        wait_for_restart(lab, home, old_pid)
        back = await learner.view()
        assert back["node"] == home and not back["found"], "a restarted node starts empty"


async def test_redis_sessions_keep_the_cart_across_nodes_and_a_kill(
    lab: RunningLab, instructor_cookies: dict
) -> None:
    """Redis-backed: adds land on three nodes and the cart keeps all; a SIGKILL loses nothing."""
    await switch_mode(lab, instructor_cookies, "redis")
    async with lab_socket(lab.url) as ws, CartClient(lab) as learner:
        await next_frame(ws, "welcome")
        answers = [await learner.add(item) for item in ("apple", "bread", "cheese")]
        assert {a["node"] for a in answers} == {"node-1", "node-2", "node-3"}
        assert [a["items"] for a in answers] == [1, 2, 3]
        assert len({a["session"] for a in answers}) == 1, "one session, whichever node"
        view = await learner.view(trace="4ed15")
        [read] = (await session_events(ws, {"4ed15"}))["4ed15"]
        assert (read["kind"], read["dst"], read["detail"]["found"]) == (
            "session.read",
            "redis",
            True,
        )

        victim = view["node"]
        old_pid = kill_node(lab, victim)
        for answer in await answers_after_kill(learner, 4):
            assert answer["found"] and answer["cart"] == {"apple": 1, "bread": 1, "cheese": 1}
        wait_for_restart(lab, victim, old_pid)
        answers = [await learner.view() for _ in range(3)]
        restarted = next(a for a in answers if a["node"] == victim)
        assert restarted["mode"] == "redis" and restarted["items"] == 3, "mode kept on restart"


async def test_bad_cart_requests_get_clear_errors_and_the_node_keeps_serving(
    lab: RunningLab,
) -> None:
    """Bad names, oversized bodies, wrong methods, foreign origins and forms are refused."""
    async with CartClient(lab) as learner:
        cases = [
            (("POST", "items"), {"body": {"item": "<script>"}}, 400, "only letters"),
            (("POST", "items"), {"body": b"{apple"}, 400, "must be JSON"),
            (("POST", "items"), {"body": {"item": "x" * 2000}}, 413, "over 1024 bytes"),
            (("PUT", "items"), {"body": {"item": "apple"}}, 405, "use POST"),
            (("GET", "items"), {}, 405, "use POST"),
            (("POST", ""), {}, 405, "use GET"),
            (("POST", "items"), {"Origin": "http://evil.example"}, 403, "may not change"),
            (("POST", "clear"), {"Content-Type": "text/plain"}, 403, "must be JSON"),
        ]
        for (method, path), options, status, says in cases:
            got, answer = await learner.request(method, path, **options)
            assert (got, says in answer.get("error", "")) == (status, True), (method, path, answer)
        assert (await learner.add("apple"))["items"] >= 1


async def test_clear_empties_the_cart(lab: RunningLab, instructor_cookies: dict) -> None:
    """POST /cart/clear writes an empty cart; the next view finds the session, empty."""
    await switch_mode(lab, instructor_cookies, "redis")
    async with CartClient(lab) as learner:
        await learner.add("apple")
        status, cleared = await learner.request("POST", "clear")
        assert status == 200 and cleared["cart"] == {} and cleared["write"] is not None
        view = await learner.view()
        assert view["found"] and view["items"] == 0
    assert json.loads(json.dumps(view))  # the answer is plain JSON
