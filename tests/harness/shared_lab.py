"""One whole lab shared by the modules of a package (a lab start is some ten seconds of two
shared cores): what a module may change in it is read back at the lab's start, put back
after each module, and checked before the next one, which fails naming what differs."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from archviz.chat import keys as chat_keys
from archviz.core import keys
from archviz.core.control import send_command
from archviz.core.redis_conn import sync_client
from archviz.sessions import keys as sessions_keys
from archviz.sessions.modes import MODES, stored_mode
from archviz.trace.events import TRACE_LOG
from tests.harness.lab import RunningLab
from tests.harness.wait_for import wait_for

NODE_SETTINGS = ("weight", "capacity", "latency_ms", "jitter_ms")  # the admin's Node row
OVERLOAD_SETTINGS = ("ws_limit", "reject_above", "shed_above", "admission", "shed_policy")
TRAFFIC_SETTINGS = ("rate", "work_ms", "variance_ms", "ws_clients", "queue")
SETTLE_TIMEOUT_S = 40  # a node killed at a module's end is restarted, a second dashboard expires
BY = "tests: the shared lab put back"


def chat_mode(raw: bytes | None) -> str:
    """The chat's broadcast mode as the nodes read it (archviz/chat/store.py)."""
    return raw.decode() if raw in (b"local", b"redis") else "redis"


def settings(lab: RunningLab) -> dict:
    """What a module may change in the lab, as its state and its Redis say now."""
    state = lab.state()
    client = sync_client(lab.redis_url)
    backends = (state["lb"] or {}).get("backends", [])
    return {
        "nodes": {
            n["id"]: {"status": n["status"]}
            | {field: n[field] for field in NODE_SETTINGS}
            | {field: n["overload"].get(field) for field in (*OVERLOAD_SETTINGS, "fault")}
            for n in state["nodes"]
        },
        "healthy behind the balancer": sum(b["health"] == "healthy" for b in backends),
        "dashboards": len(state["dashboards"]),
        "lab sockets open": sum(d["sockets"] for d in state["dashboards"]),
        "lb algorithm": state["lb"] and state["lb"]["algorithm"],
        "traffic": state["traffic"] and {k: state["traffic"][k] for k in TRAFFIC_SETTINGS},
        "queue consumers": {c["id"]: c["status"] for c in state["queue"]["consumers"]},
        "chat mode": chat_mode(client.get(chat_keys.MODE)),
        "chat members": sum(
            client.hlen(key) for key in client.scan_iter(chat_keys.members("*"), count=1000)
        ),
        "session mode": stored_mode(client.get(sessions_keys.MODE)),
    }


def differences(started: dict, now: dict) -> list[str]:
    return [
        f"{name}: {now.get(name)!r}, started as {value!r}"
        for name, value in started.items()
        if now.get(name) != value
    ]


class SharedLab:
    """A started lab, its settings as they were once it was ready, and the way back to them."""

    def __init__(self, lab: RunningLab) -> None:
        self.lab = lab
        lab.wait_for_ready(3)
        self.started = wait_for(
            lambda: settings(lab),
            "the lab's settings once ready",
            until=lambda s: s["traffic"] is not None and s["lb algorithm"],
        )

    def differences(self) -> list[str]:
        return differences(self.started, settings(self.lab))

    def wait_as_started(self, module: str) -> None:
        """Wait for the lab to settle as it started (restarts finish, registrations expire,
        chat members leave); fail naming each setting that still differs. Then empty the
        trace log that pages replay as they open: the module's pages see its events only, as
        on a lab of its own (the lab page's newest `pubsub.deliver` is its own ping's)."""
        wait_for(
            self.differences,
            f"the shared lab as it was started, before {module}",
            SETTLE_TIMEOUT_S,
            until=lambda found: not found,
            interval=0.2,
        )
        sync_client(self.lab.redis_url).delete(TRACE_LOG)

    def put_back(self) -> None:
        """Command back every setting a module changed that a command can put back; what is
        left (a stopped node, a fault) the next module's wait_as_started names."""
        now = settings(self.lab)
        client = sync_client(self.lab.redis_url)
        started = self.started
        if now["session mode"] != started["session mode"]:
            client.set(sessions_keys.MODE, started["session mode"])
            self._send({"type": "session.mode", "mode": started["session mode"]})
            now["lb algorithm"] = MODES[started["session mode"]].algorithm
        if now["lb algorithm"] != started["lb algorithm"]:
            self._send({"type": "lb.algorithm", "algorithm": started["lb algorithm"]})
        if now["chat mode"] != started["chat mode"]:
            self._send({"type": "chat.mode", "mode": started["chat mode"]})
        if now["traffic"] != started["traffic"]:
            self._send({"type": "traffic.set", **started["traffic"]})
        if any(status != "up" for status in now["queue consumers"].values()):
            self._send({"type": "queue.start", "consumer": ""})
        self._put_back_nodes(now["nodes"])
        client.delete(keys.SET_BY)  # put back as it started: nobody's changes left to name

    def _put_back_nodes(self, nodes: dict[str, dict]) -> None:
        fields = (*NODE_SETTINGS, *OVERLOAD_SETTINGS)
        changed = {
            node: {f: wanted[f] for f in fields}
            for node, wanted in self.started["nodes"].items()
            if node in nodes and any(nodes[node][f] != wanted[f] for f in fields)
        }
        for node, row in changed.items():  # the supervisor applies the admin's rows live
            self.lab.shell(
                "from archviz.dashboard.models import Node; "
                f"Node.objects.filter(name={node!r}).update(**{row!r})"
            )

    def _send(self, command: dict) -> None:
        send_command(sync_client(self.lab.redis_url), {"by": BY, "trace": ""} | command)


def started_lab(var_dir: Path) -> Iterator[RunningLab]:
    """A whole lab (embedded Redis, dashboard, 3 nodes...) ready, and stopped for sure after."""
    running = RunningLab(var_dir).start()
    try:
        running.wait_for_ready(3)
        yield running
    finally:
        running.process.close(timeout=15)


def shared_lab_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedLab]:
    """The body of a package's `shared_lab` fixture: one lab for the package's modules."""
    for running in started_lab(tmp_path_factory.mktemp("shared-lab")):
        yield SharedLab(running)


def module_lab_fixture(shared: SharedLab, request: pytest.FixtureRequest) -> Iterator[RunningLab]:
    """The body of a package's module-scoped `lab` fixture on its shared lab: the lab as it
    started, and after the module whatever it changed put back."""
    shared.wait_as_started(request.module.__name__)
    yield shared.lab
    shared.put_back()
