"""The queue's commands carried out by the supervisor in a running lab: real consumer
processes, real Redis, commands from the page."""

import pytest

from archviz.core.redis_conn import sync_client
from archviz.trace.reader import recent_events
from tests.harness.clients import lab_socket, next_frame
from tests.harness.lab import RunningLab

pytestmark = pytest.mark.integration


def _queue(lab: RunningLab) -> dict:
    return lab.state()["queue"]


def _consumers_up(state: dict, count: int = 2) -> bool:
    return sum(c["status"] == "up" for c in state["queue"]["consumers"]) == count


async def _send(ws, message: dict, frame: str = "ack") -> dict:
    await ws.send_json(message)
    return await next_frame(ws, frame)


async def test_consumers_are_supervised_processes_that_share_the_work(lab: RunningLab) -> None:
    """Two consumer processes of the lab each do a fair share of a learner's 20 jobs."""
    state = lab.wait_until(_consumers_up, "2 consumers up")
    consumers = state["queue"]["consumers"]
    assert [c["id"] for c in consumers] == ["consumer-1", "consumer-2"]
    assert {c["pid"] for c in consumers} <= lab.descendants()
    before = {c["id"]: c["processed_total"] for c in consumers}
    async with lab_socket(lab.url) as ws:
        await next_frame(ws, "welcome")
        assert (await _send(ws, {"type": "queue.enqueue", "count": 20}))[
            "action"
        ] == "queue.enqueue"
    done = lab.wait_until(
        lambda s: s["queue"]["processed_total"] - sum(before.values()) == 20, "20 jobs processed"
    )
    shares = [c["processed_total"] - before[c["id"]] for c in done["queue"]["consumers"]]
    assert sum(shares) == 20 and min(shares) >= 6, shares
    assert done["queue"]["backlog"] == 0 and done["queue"]["latency_ms"]["p50"] > 0


async def test_backlog_grows_while_consumers_are_stopped_and_drains_when_started(
    lab: RunningLab, instructor_cookies
) -> None:
    """queue.stop: the backlog holds every new job; queue.start: it drains to zero."""
    lab.wait_until(_consumers_up, "2 consumers up")
    async with lab_socket(lab.url, cookies=instructor_cookies) as ws:
        await next_frame(ws, "welcome")
        await _send(ws, {"type": "queue.control", "action": "stop"})
        lab.wait_until(
            lambda s: all(c["status"] == "stopped" for c in s["queue"]["consumers"]),
            "every consumer stopped",
        )
        processed = _queue(lab)["processed_total"]
        for _ in range(2):
            await _send(ws, {"type": "queue.enqueue", "count": 15})
        held = lab.wait_until(lambda s: s["queue"]["backlog"] == 30, "a backlog of 30")
        assert held["queue"]["processed_total"] == processed
        await _send(ws, {"type": "queue.control", "action": "start"})
    drained = lab.wait_until(lambda s: s["queue"]["backlog"] == 0, "the backlog drained", 30)
    assert drained["queue"]["processed_total"] == processed + 30


async def test_no_job_is_lost_when_a_consumer_is_killed_mid_job(
    lab: RunningLab, instructor_cookies
) -> None:
    """SIGKILL the busiest consumer: another claims its unacknowledged job; each is done once."""
    queue = lab.wait_until(_consumers_up, "2 consumers up")["queue"]
    async with lab_socket(lab.url, cookies=instructor_cookies) as ws:
        await next_frame(ws, "welcome")
        await _send(ws, {"type": "queue.enqueue", "count": 20})
        lab.wait_until(lambda s: s["queue"]["pending"] >= 1, "a job in progress")
        await _send(ws, {"type": "queue.control", "action": "kill"})
    down = lab.wait_until(
        lambda s: any("SIGKILL" in c["detail"] for c in s["queue"]["consumers"]), "a consumer down"
    )
    victim = next(c for c in down["queue"]["consumers"] if "SIGKILL" in c["detail"])
    assert victim["status"] == "down" and "restarting in 7.0 s" in victim["detail"]
    done = lab.wait_until(
        lambda s: s["queue"]["backlog"] == 0 and s["queue"]["pending"] == 0, "every job done", 30
    )["queue"]
    assert done["processed_total"] == queue["processed_total"] + 20
    assert done["acked_total"] + done["dead_total"] == done["enqueued_total"]
    redelivered_to = {
        e["dst"] for e in recent_events(sync_client(lab.redis_url), 500)
        if e["kind"] == "queue.redeliver"
    }  # fmt: skip
    assert redelivered_to and victim["id"] not in redelivered_to


async def test_consumers_follow_the_admin_rows_like_nodes(
    lab: RunningLab, instructor_cookies
) -> None:
    """queue.add starts consumer-3; a new work_ms applies live (same pid); queue.remove stops it."""
    lab.wait_until(_consumers_up, "2 consumers up")
    async with lab_socket(lab.url, cookies=instructor_cookies) as ws:
        await next_frame(ws, "welcome")
        assert (await _send(ws, {"type": "queue.add"}))["node"] == "consumer-3"
        state = lab.wait_until(lambda s: _consumers_up(s, 3), "consumer-3 up")
        pid = next(c["pid"] for c in state["queue"]["consumers"] if c["id"] == "consumer-3")
        lab.shell(
            "from archviz.queue.models import Consumer\n"
            "Consumer.objects.filter(name='consumer-3').update(work_ms=40)"
        )
        lab.wait_until(
            lambda s: any(
                c["id"] == "consumer-3" and c["work_ms"] == 40 and c["pid"] == pid
                for c in s["queue"]["consumers"]
            ),
            "work_ms applied live",
        )
        await _send(ws, {"type": "queue.remove", "consumer": "consumer-3"})
    lab.wait_until(
        lambda s: [c["id"] for c in s["queue"]["consumers"]] == ["consumer-1", "consumer-2"],
        "consumer-3 gone",
    )
