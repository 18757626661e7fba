"""A pong resolves only the ping that asked for it: trace ids are public, nonces are not."""

import asyncio
import json
from collections.abc import AsyncIterator, Callable

import pytest
import redis

from archviz.core import keys
from archviz.dashboard.feed import LabFeed


@pytest.fixture
async def feed(redis_url: str, redis_client: redis.Redis) -> AsyncIterator[LabFeed]:
    running = LabFeed()
    pending = running.expect_pong("warm-up", "n")  # starts the listener
    await _until(lambda: redis_client.pubsub_numsub(keys.PONG_CHANNEL)[0][1] >= 1, "subscribed")
    pending.cancel()
    yield running
    await running.stop()


async def _until(condition: Callable[[], bool], what: str) -> None:
    """Poll with a deadline (10 s): the feed reads Redis on its own task."""
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"not within 10 s: {what}")


async def _ignored(feed: LabFeed, count: int) -> None:
    await _until(lambda: feed.ignored_pongs >= count, f"{count} pongs ignored")


def _pong(client: redis.Redis, trace: str, nonce: str | None) -> None:
    pong = {"trace": trace, "node": "node-1", "ts": 1.0}
    if nonce is not None:
        pong["nonce"] = nonce
    client.publish(keys.PONG_CHANNEL, json.dumps(pong))


async def test_a_forged_pong_for_someone_elses_trace_resolves_nothing(
    feed: LabFeed, redis_client: redis.Redis
):
    """A pong with the right trace id but another nonce (or none) is ignored and counted;
    the real one still resolves the ping, and a second copy of it is ignored too."""
    pending = feed.expect_pong("trace-of-ada", "secret-nonce")
    _pong(redis_client, "trace-of-ada", "guessed")
    _pong(redis_client, "trace-of-ada", None)
    _pong(redis_client, "never-issued", "secret-nonce")
    await _ignored(feed, 3)
    assert not pending.done()
    _pong(redis_client, "trace-of-ada", "secret-nonce")
    async with asyncio.timeout(10):
        assert (await pending)["nonce"] == "secret-nonce"
    _pong(redis_client, "trace-of-ada", "secret-nonce")  # already resolved
    await _ignored(feed, 4)
