"""The chat layers' silent drops are counted: group sends over capacity, and the pub/sub
subscriber Redis closes for its output buffer."""

from collections.abc import Iterator

import pytest
import redis
from channels_redis.pubsub import RedisPubSubChannelLayer

from archviz.chat.layers import (
    LOCAL,
    REDIS,
    CountingInMemoryChannelLayer,
    chat_channel_layers,
    group_channel,
    group_name,
)
from archviz.core import drops
from archviz.lab.embedded_redis import EmbeddedRedis
from tests.harness.wait_for import async_wait_for

BUFFER_LIMIT = "128kb 0 0"  # hard limit only: closed the moment it is passed
PAYLOAD = b"x" * 256 * 1024
# more than the kernel's socket buffers on loopback (a few MB) and the limit together
FLOOD_BYTES = 32 * 1024 * 1024


def _drops(name: str) -> int:
    return drops.snapshot()[name]


async def test_group_sends_over_capacity_are_counted_exactly():
    """A member with room for 3 messages, sent 10: the 7 skipped are counted."""
    layer = CountingInMemoryChannelLayer(capacity=3)
    full, other = await layer.new_channel(), await layer.new_channel()
    await layer.group_add("chat.room", full)
    await layer.group_add("chat.room", other)
    before = _drops("group_full_total")
    for n in range(10):
        await layer.group_send("chat.room", {"type": "chat.message", "n": n})
    assert _drops("group_full_total") - before == 2 * 7  # both members, 7 each
    assert [(await layer.receive(full))["n"] for _ in range(3)] == [0, 1, 2]


async def test_messages_left_past_the_expiry_are_counted():
    """Two messages unread past the layer's expiry are thrown away at the next group send:
    counted, and the member (taken out of the group by the parent) gets nothing more."""
    layer = CountingInMemoryChannelLayer(expiry=-1)  # past its expiry as soon as it is sent
    channel = await layer.new_channel()
    await layer.group_add("chat.room", channel)
    await layer.send(channel, {"type": "chat.message", "n": 1})
    await layer.send(channel, {"type": "chat.message", "n": 2})
    before = _drops("expired_total")
    await layer.group_send("chat.room", {"type": "chat.message", "n": 3})
    assert _drops("expired_total") - before == 2
    assert layer.channels == {} and layer.groups["chat.room"] == {}


async def test_a_direct_send_over_capacity_raises_and_is_not_counted():
    """send()'s ChannelFull reaches its caller: not a silent drop, not counted."""
    from channels.exceptions import ChannelFull

    layer = CountingInMemoryChannelLayer(capacity=1)
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "x"})
    before = _drops("group_full_total")
    with pytest.raises(ChannelFull):
        await layer.send(channel, {"type": "x"})
    assert _drops("group_full_total") == before


def test_the_nodes_local_layer_is_the_counting_one():
    config = chat_channel_layers("redis://127.0.0.1:1/0")
    assert config[LOCAL]["BACKEND"] == "archviz.chat.layers.CountingInMemoryChannelLayer"
    host = config[REDIS]["CONFIG"]["hosts"][0]
    assert host["connection_class"] is drops.PubSubWatchedConnection


@pytest.fixture
def small_buffer_redis() -> Iterator[EmbeddedRedis]:
    """A Redis of this test's own, closing pub/sub clients past 128 kB of output buffer."""
    server = EmbeddedRedis(pubsub_buffer_limit=BUFFER_LIMIT).start()
    yield server
    server.stop()


def _flood(url: str, channel: str) -> int:
    """Publish FLOOD_BYTES to `channel` at once; the number of receivers at the last one."""
    client = redis.Redis.from_url(url)
    receivers = 0
    for _ in range(FLOOD_BYTES // len(PAYLOAD)):
        receivers = client.publish(channel, PAYLOAD)
    client.close()
    return receivers


async def test_a_slow_subscriber_closed_by_redis_is_counted_on_both_sides(
    small_buffer_redis: EmbeddedRedis,
):
    """The layer's reader cannot read while its loop is busy: Redis closes it for its output
    buffer (its log says so once), the layer counts the lost connection, and redis-py's
    reconnect brings the group back."""
    config = chat_channel_layers(small_buffer_redis.url)[REDIS]["CONFIG"]
    layer = RedisPubSubChannelLayer(**config)
    await layer.group_add(group_name("room"), await layer.new_channel())
    lost_before = _drops("pubsub_lost_total")

    # The flood is published from this loop's thread: the layer's reader, on the same loop,
    # reads nothing until it is over, as a node too busy to read would.
    assert _flood(small_buffer_redis.url, group_channel("room")) == 0  # closed part way through

    await async_wait_for(
        lambda: _drops("pubsub_lost_total") - lost_before,
        "the layer to count its lost reader",
        until=lambda n: n == 1,
    )
    await async_wait_for(  # the log is read in a thread of its own: it may come later
        lambda: small_buffer_redis.log_watch.output_buffer_closes,
        "Redis's log to say so",
        until=lambda n: n == 1,
    )
    # resubscribed by redis-py: a message sent now arrives (after what got through before)
    client = redis.Redis.from_url(small_buffer_redis.url)
    await async_wait_for(
        lambda: client.publish(group_channel("room"), b"{}"), "the group to be subscribed again"
    )
    client.close()
    await layer.flush()
