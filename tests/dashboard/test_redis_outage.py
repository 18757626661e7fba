"""Redis going away while the lab runs: the page says so, and everything recovers."""

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from archviz.lab.embedded_redis import EmbeddedRedis
from tests.harness.clients import lab_socket, next_frame
from tests.harness.lab import RunningLab
from tests.harness.shared_lab import started_lab

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningLab]:
    """A lab of its own, not the package's shared one: the test kills its Redis."""
    yield from started_lab(tmp_path_factory.mktemp("lab"))


def _recovered(frame: dict) -> bool:
    """Redis is back and all three nodes have registered again."""
    state = frame["state"]
    return state["redis"]["up"] and sum(n["status"] == "up" for n in state["nodes"]) == 3


async def test_external_redis_outage_is_shown_and_recovered_from(tmp_path: Path) -> None:
    """With REDIS_URL set the lab starts no Redis; when it dies the page is told, then recovers."""
    server = EmbeddedRedis().start()
    lab = RunningLab(tmp_path, REDIS_URL=server.url).start()
    try:
        assert lab.redis_url == server.url
        assert "embedded Redis" not in "\n".join(lab.lines)
        lab.wait_for_nodes_up(3)
        async with lab_socket(lab.url) as ws:
            await next_frame(ws, "state", lambda f: f["state"]["redis"]["up"])
            server.stop()
            down = await next_frame(ws, "state", lambda f: not f["state"]["redis"]["up"])
            assert len(down["state"]["nodes"]) == 3  # the last picture, frozen
            assert lab.state()["redis"]["up"] is False
            server.start()  # same port, empty
            await next_frame(
                ws,
                "state",
                _recovered,
                timeout=15,
            )
        assert all(n["status"] == "up" for n in lab.state()["nodes"])
    finally:
        lab.stop()
        server.stop()


def _embedded_redis_pid(lab: RunningLab) -> int:
    return next(
        pid
        for pid in lab.descendants()
        if b"redis-server" in Path(f"/proc/{pid}/cmdline").read_bytes()
    )


async def test_embedded_redis_killed_is_restarted_by_the_supervisor(lab: RunningLab) -> None:
    """SIGKILL the embedded Redis: the page shows it unreachable, then the lab comes back."""
    old_pid = _embedded_redis_pid(lab)
    async with lab_socket(lab.url) as ws:
        await next_frame(ws, "welcome")
        os.kill(old_pid, signal.SIGKILL)
        await next_frame(ws, "state", lambda f: not f["state"]["redis"]["up"])
        await next_frame(
            ws,
            "state",
            _recovered,
            timeout=20,
        )
    assert _embedded_redis_pid(lab) != old_pid
    assert "embedded Redis died" in "\n".join(lab.lines)
