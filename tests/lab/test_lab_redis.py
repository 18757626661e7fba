"""The lab's own embedded Redis, as a real `manage.py lab` starts it: the trust boundary.

Whoever can write to it commands every process, so it has a password, listens on loopback,
has no dangerous commands, and no browser is told how to reach it.
"""

import json
import re
import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from archviz.core import registry
from tests.harness.clients import lab_socket, log_in, next_frame, session
from tests.harness.lab import RunningLab

pytestmark = pytest.mark.integration

# Another loopback address (all of 127/8 is this machine): the lab listens there as it would
# on a classroom's network interface, without opening a port to the network.
LAB_HOST = "127.0.0.2"


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> Iterator[RunningLab]:
    """A whole lab on free ports of LAB_HOST (this module's own)."""
    running = RunningLab(
        tmp_path_factory.mktemp("lab"), ARCHVIZ_HOST=LAB_HOST, ARCHVIZ_ALLOWED_HOSTS=LAB_HOST
    ).start()
    try:
        yield running
    finally:
        running.process.close(timeout=15)


def _address(lab: RunningLab) -> tuple[str, int]:
    match = re.search(r"embedded Redis: redis://([\d.]+):(\d+)/0", "\n".join(lab.lines))
    return match.group(1), int(match.group(2))


def _accepts(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=2).close()
    except ConnectionRefusedError:
        return False
    return True


def _stranger(host: str, port: int) -> redis.Redis:
    """A client without the password, trying once (redis-py retries for seconds by default)."""
    return redis.Redis(host=host, port=port, socket_timeout=2, retry=Retry(NoBackoff(), 0))


def test_the_password_is_generated_into_var_and_never_printed(lab: RunningLab) -> None:
    """var/redis_password exists, owner-only; the lab's output names the file, not the secret."""
    path = lab.var_dir / "redis_password"
    password = path.read_text().strip()
    assert len(password) >= 40
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    output = "\n".join(lab.lines)
    assert password not in output
    assert f"password in {path}" in output


def test_a_client_without_the_password_is_refused(lab: RunningLab) -> None:
    """Without the password nobody can command the lab (no PUBLISH to archviz:control)."""
    client = _stranger(*_address(lab))
    with pytest.raises(redis.AuthenticationError):
        client.publish("archviz:control", '{"type": "kill", "node": "node-1", "by": "x"}')
    assert redis.Redis.from_url(lab.redis_url).ping() is True


def test_redis_listens_on_loopback_not_on_the_labs_host(lab: RunningLab) -> None:
    """The dashboard is on ARCHVIZ_HOST; Redis on 127.0.0.1 only, unreachable on that host."""
    assert lab.url.startswith(f"http://{LAB_HOST}:")
    host, port = _address(lab)
    assert host == "127.0.0.1" and _accepts("127.0.0.1", port)
    assert not _accepts(LAB_HOST, port)


def test_archviz_redis_host_moves_redis_to_that_address(tmp_path: Path) -> None:
    """ARCHVIZ_REDIS_HOST: the embedded Redis listens there (and only there), password and all."""
    other = RunningLab(tmp_path, ARCHVIZ_REDIS_HOST="127.0.0.3").start()
    try:
        host, port = _address(other)
        assert host == "127.0.0.3" and _accepts("127.0.0.3", port)
        assert not _accepts("127.0.0.1", port)
        with pytest.raises(redis.AuthenticationError):
            _stranger(host, port).ping()
        assert redis.Redis.from_url(other.redis_url).ping() is True
    finally:
        other.stop()


def test_the_labs_redis_refuses_config_set_and_caps_its_memory(lab: RunningLab) -> None:
    """Even with the password: no CONFIG SET (no file written), and 256 MB with noeviction."""
    client = redis.Redis.from_url(lab.redis_url, socket_timeout=2)
    with pytest.raises(redis.ResponseError, match="unknown command"):
        client.execute_command("CONFIG", "SET", "dir", str(lab.var_dir))
    with pytest.raises(redis.ResponseError, match="unknown command"):
        client.execute_command("FLUSHALL")
    memory = client.info("memory")
    assert (memory["maxmemory"], memory["maxmemory_policy"]) == (256 << 20, "noeviction")
    assert "at most 256 MB" in "\n".join(lab.lines)


def _page_config(html: str) -> dict:
    return json.loads(re.search(r'id="lab-config"[^>]*>(.*?)</script>', html, re.S).group(1))


async def test_no_page_or_frame_tells_a_learner_where_redis_is(lab: RunningLab) -> None:
    """A learner's page, the state API and a state frame: up and memory, no address, no password."""
    host, port = _address(lab)
    password = (lab.var_dir / "redis_password").read_text().strip()
    async with session() as learner:
        async with learner.get(lab.url + "/lab/") as page:
            html = await page.text()
        async with learner.get(lab.url + "/api/lab/state") as response:
            api = await response.text()
    async with lab_socket(lab.url) as ws:
        frame = await next_frame(ws, "state")
    assert "redis_address" not in _page_config(html)
    assert set(frame["state"]["redis"]) == {"up", "used_memory_bytes", "output_buffer_closes"}
    for text in (html, api, json.dumps(frame)):
        assert password not in text and "redis://" not in text and f"{host}:{port}" not in text


async def test_an_instructors_page_shows_host_and_port_only(lab: RunningLab) -> None:
    """The instructor's lab page is told redis_address (host:port), and nothing with a password."""
    host, port = _address(lab)
    lab.create_user("iris", "redis-instructor-pw-5", instructor=True)
    async with session() as instructor:
        await log_in(instructor, lab.url, "iris", "redis-instructor-pw-5")
        async with instructor.get(lab.url + "/lab/") as page:
            html = await page.text()
    assert _page_config(html)["redis_address"] == f"{host}:{port}"
    assert (lab.var_dir / "redis_password").read_text().strip() not in html


async def test_the_supervisors_children_on_the_labs_host_are_trusted(lab: RunningLab) -> None:
    """Nodes registered on ARCHVIZ_HOST match the supervisor's records: the balancer routes to
    them all and the dashboard's ping reaches them."""
    state = lab.wait_for_ready(3)
    assert {b["id"] for b in state["lb"]["backends"]} == {"node-1", "node-2", "node-3"}
    async with lab_socket(lab.url) as ws:
        await next_frame(ws, "welcome")
        await ws.send_json({"type": "ping", "node": "node-1"})
        assert (await next_frame(ws, "pong"))["node"] == "node-1"
    assert "ignored the registration" not in "\n".join(lab.lines)


def _redis_user_of(pid: int) -> str:
    """The ACL user in a process's REDIS_URL, read from its environment."""
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    url = next(v for v in environ if v.startswith(b"REDIS_URL=")).decode()
    return re.match(r"REDIS_URL=redis://([^:@]*):", url).group(1)


def test_each_child_connects_as_its_roles_user(lab: RunningLab) -> None:
    """The dashboard as `dashboard`, nodes, balancer and traffic generator as `worker`:
    users denied FLUSHDB, KEYS, MONITOR and the like; the supervisor alone holds the full one."""
    state = lab.wait_for_ready(3)
    users = {node["id"]: _redis_user_of(node["pid"]) for node in state["nodes"]}
    assert users == {"node-1": "worker", "node-2": "worker", "node-3": "worker"}
    client = redis.Redis.from_url(lab.redis_url, socket_timeout=2)
    registered = {r.kind: r.pid for r in registry.registered(client)}
    assert _redis_user_of(registered["dashboard"]) == "dashboard"
    assert _redis_user_of(registered["balancer"]) == "worker"
    assert _redis_user_of(registered["traffic"]) == "worker"
    connected = {c["user"] for c in client.client_list()}
    assert {"dashboard", "worker"} <= connected
