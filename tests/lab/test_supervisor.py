"""The supervisor with real processes: start, crash and restart, reconcile to the admin."""

import os
import signal

import pytest

from tests.harness.lab import RunningLab

pytestmark = pytest.mark.integration


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_lab_runs_three_nodes_as_separate_live_processes(lab: RunningLab) -> None:
    """Three nodes are up, each its own live OS process on its own port."""
    nodes = lab.state()["nodes"]
    assert [n["id"] for n in nodes] == ["node-1", "node-2", "node-3"]
    pids = {n["pid"] for n in nodes}
    assert len(pids) == 3 and lab.process.pid not in pids
    assert all(_alive(pid) for pid in pids)
    assert pids <= lab.descendants()
    assert len({n["port"] for n in nodes}) == 3
    assert all(n["rss_bytes"] > 0 and n["heartbeat_ts"] for n in nodes)


def test_node_killed_from_outside_is_restarted_with_a_new_pid(lab: RunningLab) -> None:
    """kill -9 on a node: it is seen down, then restarted by the supervisor as a new pid."""
    before = lab.node("node-2")
    os.kill(before["pid"], signal.SIGKILL)
    down = lab.wait_until(
        lambda s: any(n["id"] == "node-2" and n["status"] == "down" for n in s["nodes"]),
        "node-2 seen down",
        timeout=5,
    )
    assert "SIGKILL" in next(n for n in down["nodes"] if n["id"] == "node-2")["detail"]
    after = lab.wait_until(
        lambda s: any(
            n["id"] == "node-2" and n["status"] == "up" and n["pid"] != before["pid"]
            for n in s["nodes"]
        ),
        "node-2 restarted",
    )
    restarted = next(n for n in after["nodes"] if n["id"] == "node-2")
    assert _alive(restarted["pid"])
    assert restarted["restarts"] == before["restarts"] + 1


def test_admin_edits_are_reconciled_without_restarting_anything(lab: RunningLab) -> None:
    """Add, edit, disable and delete a Node row: the processes follow within seconds."""
    dashboard_pid = lab.state()["dashboards"][0]["pid"]
    lab.shell("from archviz.dashboard.models import Node; Node.objects.create(name='node-9')")
    state = lab.wait_until(
        lambda s: any(n["id"] == "node-9" and n["status"] == "up" for n in s["nodes"]),
        "node-9 started",
    )
    pid = next(n for n in state["nodes"] if n["id"] == "node-9")["pid"]

    lab.shell(
        "from archviz.dashboard.models import Node; "
        "Node.objects.filter(name='node-9').update(latency_ms=250, weight=3, capacity=7)"
    )
    state = lab.wait_until(
        lambda s: any(n["id"] == "node-9" and n["latency_ms"] == 250 for n in s["nodes"]),
        "node-9 latency applied",
    )
    edited = next(n for n in state["nodes"] if n["id"] == "node-9")
    assert (edited["pid"], edited["weight"], edited["capacity"]) == (pid, 3, 7)

    lab.shell(
        "from archviz.dashboard.models import Node; "
        "Node.objects.filter(name='node-9').update(enabled=False)"
    )
    lab.wait_until(lambda s: all(n["id"] != "node-9" for n in s["nodes"]), "node-9 stopped")
    assert not _alive(pid)
    lab.shell(
        "from archviz.dashboard.models import Node; Node.objects.filter(name='node-9').delete()"
    )
    state = lab.wait_for_nodes_up(3)
    assert state["dashboards"][0]["pid"] == dashboard_pid


def test_node_that_keeps_crashing_is_given_up_on(tmp_path) -> None:
    """A node killed again and again right after starting ends "failed", not restarted."""
    lab = RunningLab(tmp_path, ARCHVIZ_RESTART_MAX_CRASHES="2").start()
    try:
        lab.wait_for_nodes_up(3)
        killed: set[int] = set()
        for attempt in range(3):
            state = lab.wait_until(
                lambda s: any(
                    n["id"] == "node-1" and n["status"] == "up" and n["pid"] not in killed
                    for n in s["nodes"]
                ),
                f"node-1 up before kill {attempt + 1}",
            )
            pid = next(n for n in state["nodes"] if n["id"] == "node-1")["pid"]
            os.kill(pid, signal.SIGKILL)
            killed.add(pid)
        state = lab.wait_until(
            lambda s: any(n["id"] == "node-1" and n["status"] == "failed" for n in s["nodes"]),
            "node-1 given up on",
        )
        failed = next(n for n in state["nodes"] if n["id"] == "node-1")
        assert "gave up" in failed["detail"]
        assert not any(_alive(p) for p in [failed["pid"]])
    finally:
        lab.stop()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_stopping_the_lab_leaves_no_process_running(tmp_path, sig: int) -> None:
    """Ctrl-C or SIGTERM stops every child and Redis; nothing of the lab is left."""
    lab = RunningLab(tmp_path).start()
    lab.wait_for_nodes_up(3)
    children = lab.descendants()
    assert len(children) >= 5  # redis, dashboard, three nodes
    lab.stop(sig)
    assert lab.process.returncode == 0
    assert [pid for pid in children if _alive(pid)] == []
    assert "lab stopped" in "\n".join(lab.lines)
