"""EmbeddedRedis: a real redis-server started and stopped by the lab."""

import re

import redis

from archviz.core.ports import free_port
from archviz.lab.embedded_redis import EmbeddedRedis


def test_embedded_redis_starts_answers_and_stops_without_leaving_a_process():
    """start() gives a live server on a free port; stop() ends its process."""
    port = free_port("127.0.0.1")
    server = EmbeddedRedis(port=port).start()
    try:
        assert server.alive()
        assert server.url == f"redis://127.0.0.1:{port}/0"
        client = redis.Redis.from_url(server.url, socket_timeout=2)
        assert client.ping() is True
        client.close()
    finally:
        server.stop()
    assert server.process is not None
    assert server.process.poll() is not None
    assert not server.alive()


def test_port_zero_picks_a_free_port():
    """Without a port, the server gets a free one and a matching URL."""
    server = EmbeddedRedis()
    assert server.port > 0
    assert re.fullmatch(rf"redis://127\.0\.0\.1:{server.port}/0", server.url)
    assert not server.alive()


def test_stop_before_start_and_twice_is_harmless():
    """stop() on a server never started, or already stopped, does nothing."""
    server = EmbeddedRedis()
    server.stop()
    server.start()
    server.stop()
    server.stop()
    assert server.process is not None
    assert server.process.poll() is not None
