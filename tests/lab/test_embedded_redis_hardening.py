"""The embedded Redis's dangerous commands are gone, and its memory is capped without eviction."""

from collections.abc import Iterator

import pytest
import redis

from archviz.lab.embedded_redis import DISABLED_COMMANDS, EmbeddedRedis


@pytest.fixture(scope="module")
def server() -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(password="hardening-test").start()
    yield server
    server.stop()


@pytest.fixture
def client(server: EmbeddedRedis) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(server.url, socket_timeout=2)
    client.flushdb()
    yield client
    client.close()


def test_config_set_is_refused_so_no_file_can_be_written(client: redis.Redis) -> None:
    """CONFIG SET dir + SAVE would write a file anywhere the lab may: both are unknown."""
    with pytest.raises(redis.ResponseError, match="unknown command"):
        client.execute_command("CONFIG", "SET", "dir", "/tmp")
    with pytest.raises(redis.ResponseError, match="unknown command"):
        client.execute_command("SAVE")


@pytest.mark.parametrize("command", DISABLED_COMMANDS)
def test_every_disabled_command_is_unknown(client: redis.Redis, command: str) -> None:
    """FLUSHALL, SHUTDOWN, DEBUG, REPLICAOF, MODULE, ACL, ...: an authenticated client too."""
    with pytest.raises(redis.ResponseError, match="unknown command"):
        client.execute_command(command)
    assert client.ping() is True  # and the server is still there


def test_what_the_lab_uses_still_works(client: redis.Redis) -> None:
    """FLUSHDB (the tests), INFO (the dashboard), Lua (the queue), streams and pub/sub stay."""
    client.set("k", "v")
    assert client.info("memory")["used_memory"] > 0
    assert client.eval("return redis.call('GET', KEYS[1])", 1, "k") == b"v"
    client.xadd("s", {"a": "1"})
    assert client.publish("c", "m") == 0
    assert client.flushdb() is True and client.dbsize() == 0


def test_memory_is_capped_with_noeviction(server: EmbeddedRedis) -> None:
    """The cap and policy are set as documented: 256 MB unless told, nothing evicted."""
    memory = redis.Redis.from_url(server.url).info("memory")
    assert memory["maxmemory"] == 256 * 1024 * 1024
    assert memory["maxmemory_policy"] == "noeviction"


def test_at_the_cap_writes_fail_and_nothing_is_evicted() -> None:
    """A Redis capped at 16 MB refuses writes once full (OOM) and keeps every key it had."""
    small = EmbeddedRedis(maxmemory_mb=16).start()
    try:
        client = redis.Redis.from_url(small.url, socket_timeout=5)
        written = 0
        with pytest.raises(redis.exceptions.OutOfMemoryError):
            for written in range(1, 100):  # 100 x 1 MB: far more than fits
                client.set(f"archviz:fill:{written}", b"x" * (1 << 20))
        assert written > 5
        assert client.dbsize() == written - 1  # every key that was written is still there
    finally:
        small.stop()


def _users(server: EmbeddedRedis) -> set[str]:
    """The ACL users of the connections open now (ACL WHOAMI is renamed away)."""
    return {c["user"] for c in redis.Redis.from_url(server.url).client_list()}


@pytest.mark.parametrize("kind", ["node", "balancer", "traffic", "consumer", "chatbots"])
def test_a_workers_user_is_denied_the_dangerous_commands(server: EmbeddedRedis, kind) -> None:
    """The processes a learner's input reaches connect as `worker`: no FLUSHDB, KEYS,
    MONITOR, CLIENT KILL or INFO; their own work (keys, Lua, streams, pub/sub) still runs."""
    worker = redis.Redis.from_url(server.url_for(kind), socket_timeout=2)
    worker.ping()
    assert "worker" in _users(server)
    for command in (("FLUSHDB",), ("KEYS", "*"), ("MONITOR",), ("CLIENT", "KILL", "ID", "1"),
                    ("INFO", "memory"), ("SORT", "k"), ("SWAPDB", "0", "1")):  # fmt: skip
        with pytest.raises(redis.exceptions.NoPermissionError):
            worker.execute_command(*command)
    worker.set("k", "v")
    assert worker.eval("return redis.call('GET', KEYS[1])", 1, "k") == b"v"
    worker.xadd("s", {"a": "1"})
    assert worker.publish("c", "m") == 0


def test_the_dashboards_user_may_read_info_only(server: EmbeddedRedis) -> None:
    """The dashboard shows Redis's memory (INFO) and is denied the rest."""
    dashboard = redis.Redis.from_url(server.url_for("dashboard"), socket_timeout=2)
    dashboard.ping()
    assert "dashboard" in _users(server)
    assert dashboard.info("memory")["used_memory"] > 0
    with pytest.raises(redis.exceptions.NoPermissionError):
        dashboard.flushdb()


def test_a_role_password_does_not_open_another_role(server: EmbeddedRedis) -> None:
    """Each role's password is its own (derived from the lab's): a worker's cannot log in
    as the dashboard, nor as the default user."""
    password = server.role_password("worker")
    for username in ("dashboard", "default"):
        with pytest.raises(redis.exceptions.AuthenticationError):
            redis.Redis(host=server.host, port=server.port, username=username,
                        password=password).ping()  # fmt: skip
    assert server.url_for("supervisor") == server.url
