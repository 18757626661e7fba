"""A lab for a class (ARCHVIZ_DASHBOARDS=2): two dashboard processes behind the load
balancer's dashboards listener, which takes the dashboard's port; each supervised like a node."""

import asyncio
import json
import os
import signal
from collections.abc import Iterator

import aiohttp
import pytest
import redis
import redis.asyncio

from archviz.classroom import store as class_store
from archviz.core import close_codes, registry
from archviz.trace.events import TRACE_CHANNEL, make_event
from tests.harness.clients import lab_socket, log_in, next_frame, session
from tests.harness.lab import RunningLab
from tests.harness.wait_for import WaitTimeout, async_wait_for, wait_for

pytestmark = pytest.mark.integration

DASHBOARDS = ["dashboard-1", "dashboard-2"]


@pytest.fixture(scope="module")
def class_lab(tmp_path_factory) -> Iterator[RunningLab]:
    """A lab with two dashboards; its URL is the listener's, the only one it prints."""
    running = RunningLab(tmp_path_factory.mktemp("class-lab"), ARCHVIZ_DASHBOARDS="2").start()
    try:
        running.wait_until(
            lambda s: [d["id"] for d in s["dashboards"]] == DASHBOARDS and s["lb"] is not None,
            "both dashboards registered and the balancer up",
            timeout=40,
        )
        _wait_both_healthy(running)
        yield running
    finally:
        running.process.close(timeout=15)


def _dashboards(state: dict) -> dict[str, dict]:
    return {d["id"]: d for d in state["dashboards"]}


def _wait_both_healthy(lab: RunningLab, timeout: float = 30) -> None:
    """The lab says it runs once one dashboard answers through the listener; the other may
    join its pool a moment later."""
    wait_for(
        lambda: _dashboards_listener(lab)["backends"],
        "both dashboards healthy in the listener's pool",
        timeout,
        until=lambda backends: (
            sorted(b["id"] for b in backends) == DASHBOARDS
            and all(b["health"] == "healthy" for b in backends)
        ),
    )


def _dashboards_listener(lab: RunningLab) -> dict:
    """The balancer's dashboards listener, as its heartbeat reports it."""
    client = redis.Redis.from_url(lab.redis_url)
    try:
        [metrics] = registry.latest_metrics(client, ["lb"]).values()
    finally:
        client.close()
    return metrics.extra["dashboards_listener"]


async def _one_on_each(lab: RunningLab, first, second, what: str) -> None:
    """Both sockets welcomed, and the lab's state shows one on each dashboard."""
    for ws in (first, second):
        await next_frame(ws, "welcome")
    lab.wait_until(lambda s: sorted(d["sockets"] for d in s["dashboards"]) == [1, 1], what)


def _process(state: dict, child_id: str) -> dict:
    return next(p for p in state["processes"] if p["id"] == child_id)


def _stable(state: dict) -> dict:
    """What two dashboards' state frames of one moment share (not their timestamps)."""
    return {
        "supervisor_pid": state["supervisor_pid"],
        "dashboards": sorted((d["id"], d["pid"], d["port"]) for d in state["dashboards"]),
        "nodes": sorted((n["id"], n["pid"]) for n in state["nodes"]),
    }


def test_two_dashboards_run_behind_the_listener_on_the_dashboard_port(
    class_lab: RunningLab,
) -> None:
    """Both are their own supervised processes on ports of their own; learners use the
    balancer's port, which the state (read through it) and the lab page list apart."""
    state = class_lab.state()
    dashboards = _dashboards(state)
    listener_port = int(class_lab.url.rsplit(":", 1)[1])
    assert len({d["pid"] for d in dashboards.values()}) == 2
    assert {d["pid"] for d in dashboards.values()} <= class_lab.descendants()
    assert listener_port not in {d["port"] for d in dashboards.values()}
    for child_id in DASHBOARDS:
        assert _process(state, child_id)["status"] == "up"
    listener = wait_for(
        lambda: _dashboards_listener(class_lab),
        "the listener's heartbeat counting the state requests it passed on",
        until=lambda listener: listener["requests_total"] > 0,
    )
    assert listener["port"] == listener_port
    assert sorted(b["id"] for b in listener["backends"]) == DASHBOARDS
    # the load balancer demo's own figures are the nodes' listener's: no dashboard in them
    assert all(b["id"].startswith("node-") for b in state["lb"]["backends"])
    assert any(f"{len(DASHBOARDS)} dashboards behind" in line for line in class_lab.lines)


async def test_lab_sockets_through_the_listener_reach_each_dashboard_with_one_state(
    class_lab: RunningLab,
) -> None:
    """Two tabs held open land on the two dashboards (least connections); each gets the
    same state and the same live trace events, from one Redis."""
    publisher = redis.asyncio.from_url(class_lab.redis_url)
    try:
        async with (
            lab_socket(class_lab.url) as first,
            lab_socket(class_lab.url) as second,
        ):
            await _one_on_each(class_lab, first, second, "one lab socket on each dashboard")
            states = [await next_frame(ws, "state", timeout=10) for ws in (first, second)]
            assert _stable(states[0]["state"]) == _stable(states[1]["state"])
            event = make_event("fault.inject", "test", "node-1", detail={"action": "probe"})
            await publisher.publish(TRACE_CHANNEL, json.dumps([event]))
            for ws in (first, second):
                frame = await next_frame(
                    ws, "trace", lambda f: any(e["id"] == event["id"] for e in f["events"])
                )
                assert frame["events"]
    finally:
        await publisher.aclose()


async def test_a_page_elsewhere_is_refused_through_the_listener(class_lab: RunningLab) -> None:
    """Origin is checked against the listener's port, which the Host header carries on."""
    async with lab_socket(class_lab.url, origin="http://127.0.0.1:1") as ws:
        message = await ws.receive(timeout=10)
    assert message.type == aiohttp.WSMsgType.CLOSE
    assert message.data == close_codes.FORBIDDEN_ORIGIN


async def test_a_log_in_through_the_listener_holds_on_every_dashboard(
    class_lab: RunningLab,
) -> None:
    """The login form's CSRF check passes through the listener, and the session it makes is
    known to both dashboards (one database)."""
    class_lab.ensure_user("class-teacher", "class-teacher-pw-4", instructor=True)
    async with session() as client:
        await log_in(client, class_lab.url, "class-teacher", "class-teacher-pw-4")
        cookies = {c.key: c.value for c in client.cookie_jar}
    async with (
        lab_socket(class_lab.url, cookies=cookies) as first,
        lab_socket(class_lab.url, cookies=cookies) as second,
    ):
        welcomes = [await next_frame(ws, "welcome") for ws in (first, second)]
        class_lab.wait_until(
            lambda s: sorted(d["sockets"] for d in s["dashboards"]) == [1, 1],
            "one signed-in lab socket on each dashboard",
        )
    assert [w["user"] for w in welcomes] == [{"name": "class-teacher", "instructor": True}] * 2


async def test_one_class_is_shown_by_both_dashboards(class_lab: RunningLab) -> None:
    """The instructor's tab on one dashboard moves the class; a learner's tab on the other
    is sent there: the class lives in Redis, not in either process."""
    class_lab.ensure_user("class-teacher", "class-teacher-pw-4", instructor=True)
    async with session() as client:
        await log_in(client, class_lab.url, "class-teacher", "class-teacher-pw-4")
        cookies = {c.key: c.value for c in client.cookie_jar}
    classes = redis.Redis.from_url(class_lab.redis_url)
    class_store.start(classes, by="class-teacher")
    try:
        async with (
            lab_socket(class_lab.url, cookies=cookies) as teacher,
            lab_socket(class_lab.url) as learner,
        ):
            await _one_on_each(
                class_lab, teacher, learner,
                "the instructor's tab on one dashboard, the learner's on the other",
            )  # fmt: skip
            await teacher.send_json(
                {"type": "class.goto", "path": "/lb/", "lesson": "load-balancer", "step": 1}
            )
            assert (await next_frame(teacher, "ack"))["action"] == "class.goto"
            moved = await next_frame(
                learner, "class", lambda f: (f["state"]["where"] or {}).get("path") == "/lb/"
            )
        assert moved["state"]["where"] == {"path": "/lb/", "lesson": "load-balancer", "step": 1}
        assert "code" not in moved["state"]  # the join code stays on the instructor's screen
    finally:
        class_store.end(classes)
        classes.close()


async def test_a_sigkilled_dashboard_is_restarted_and_served_again(
    class_lab: RunningLab,
) -> None:
    """kill -9 on one dashboard: the supervisor restarts it as a new process, it registers,
    and the listener sends a tab to it again."""
    before = _dashboards(class_lab.state())["dashboard-1"]
    os.kill(before["pid"], signal.SIGKILL)
    after = class_lab.wait_until(
        lambda s: (
            _process(s, "dashboard-1")["status"] == "up"
            and _dashboards(s).get("dashboard-1", {}).get("pid") not in (None, before["pid"])
        ),
        "dashboard-1 restarted and registered",
        timeout=60,  # a Django start, on two cores others share
    )
    assert _process(after, "dashboard-1")["restarts"] == 1
    assert "SIGKILL" not in _process(after, "dashboard-1")["detail"]  # up again: no reason left

    # Until the listener reads the new registration, it may try the old process's port and
    # send the tab on to the other dashboard: tabs are opened again until both are served.
    await async_wait_for(
        lambda: _tabs_land_on_both(class_lab),
        "two tabs through the listener on the two dashboards, the restarted one too",
        timeout=60,
    )


async def _tabs_land_on_both(lab: RunningLab) -> bool:
    """Whether two tabs held open through the listener are on the two dashboards."""
    async with lab_socket(lab.url) as first, lab_socket(lab.url) as second:
        for ws in (first, second):
            await next_frame(ws, "welcome")
        try:
            await asyncio.to_thread(
                lab.wait_until,
                lambda s: sorted(d["sockets"] for d in s["dashboards"]) == [1, 1],
                "one lab socket on each dashboard",
                3,
            )
        except WaitTimeout:
            return False
    return True
