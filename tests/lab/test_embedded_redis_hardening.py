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
