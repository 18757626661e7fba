"""The embedded Redis with a password: clients without it are refused, and it is never shown."""

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from archviz.lab.embedded_redis import EmbeddedRedis

PASSWORD = 'tea-pot/42 "quoted"'  # a space, a quote and a slash: escaped on the way


def stranger(server: EmbeddedRedis, password: str | None = None) -> redis.Redis:
    """A client that tries once (redis-py retries a refused login for about 4 s by default)."""
    return redis.Redis(
        host=server.host, port=server.port, password=password, retry=Retry(NoBackoff(), 0)
    )


@pytest.fixture(scope="module")
def server() -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(password=PASSWORD).start()
    yield server
    server.stop()


def test_a_client_without_the_password_is_refused(server: EmbeddedRedis) -> None:
    """No password, or a wrong one: AuthenticationError (NOAUTH / WRONGPASS), no command runs."""
    for password in (None, "guess"):
        client = stranger(server, password)
        with pytest.raises(redis.AuthenticationError):
            client.set("archviz:planted", "1")
        client.close()


def test_the_url_carries_the_password_and_works(server: EmbeddedRedis) -> None:
    """url (for processes) has the password, quoted; address_url (for printing) has none."""
    assert server.address_url == f"redis://127.0.0.1:{server.port}/0"
    assert "tea-pot%2F42%20%22quoted%22@" in server.url
    client = redis.Redis.from_url(server.url)
    assert client.ping() is True
    client.close()


def test_the_password_is_not_on_the_command_line(server: EmbeddedRedis) -> None:
    """Any user of the machine can read a command line (ps): the password is not on it."""
    cmdline = Path(f"/proc/{server.process.pid}/cmdline").read_bytes()
    assert b"redis-server" in cmdline
    assert b"tea-pot" not in cmdline and b"requirepass" not in cmdline


def test_a_restart_keeps_the_password(server: EmbeddedRedis) -> None:
    """After a crash the supervisor respawns the same server: still password-protected."""
    server.process.kill()
    server.process.wait()
    server.spawn()
    server.wait_until_ready()
    with pytest.raises(redis.AuthenticationError):
        stranger(server).ping()
    assert redis.Redis.from_url(server.url).ping() is True


def test_a_password_on_several_lines_is_refused() -> None:
    """A newline would end the config line and start another: refused before starting."""
    with pytest.raises(ValueError, match="one line"):
        EmbeddedRedis(password="a\nrename-command GET x")
