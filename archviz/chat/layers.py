"""The nodes' two channel layers: one in this process only, one through Redis pub/sub."""

import contextvars

from channels.exceptions import ChannelFull
from channels.layers import InMemoryChannelLayer
from django.conf import settings

from archviz.chat import keys as chat_keys
from archviz.core import drops
from archviz.core.redis_conn import CONNECT_TIMEOUT_S, redis_url

LOCAL, REDIS = "local", "redis"


def chat_channel_layers(redis_url: str) -> dict:
    """CHANNEL_LAYERS for a node: both modes configured, the mode picks one per message."""
    return {
        LOCAL: {
            "BACKEND": "archviz.chat.layers.CountingInMemoryChannelLayer",
            "CONFIG": {"capacity": 5_000},
        },
        REDIS: {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                # The layer's pub/sub reader blocks: no 5 s socket timeout (redis-py 8).
                "hosts": [
                    {
                        "address": redis_url,
                        "socket_timeout": None,
                        "socket_connect_timeout": CONNECT_TIMEOUT_S,
                        # counts the subscriber connections Redis closes (archviz/core/drops.py)
                        "connection_class": drops.PubSubWatchedConnection,
                    }
                ],
                "prefix": chat_keys.LAYER_PREFIX,
                # JSON, so that the store's Lua script can publish a room message itself,
                # numbered and in order (archviz/chat/store.py)
                "serializer_format": "json",
            },
        },
    }


_in_group_send = contextvars.ContextVar("in_group_send", default=False)


class CountingInMemoryChannelLayer(InMemoryChannelLayer):
    """channels' in-memory layer, counting the group sends it skips over capacity and the
    messages it expires.

    The parent's group_send sends to each member in a task of its own (which copies this
    context) and swallows their ChannelFull; a direct send's ChannelFull reaches its caller,
    so only the group's are counted. Its _clean_expired (run on every receive and group send)
    discards messages older than `expiry`, taking their channel out of its groups each time.
    """

    def _remove_from_groups(self, channel: str) -> None:
        # The parent's _clean_expired calls this once for each expired message it discards
        # (channels 4.3), and nothing else calls it: counting here costs nothing per receive.
        drops.count("expired_total")
        super()._remove_from_groups(channel)

    async def group_send(self, group: str, message: dict) -> None:
        token = _in_group_send.set(True)
        try:
            await super().group_send(group, message)
        finally:
            _in_group_send.reset(token)

    async def send(self, channel: str, message: dict) -> None:
        try:
            await super().send(channel, message)
        except ChannelFull:
            if _in_group_send.get():
                drops.count("group_full_total")
            raise


def group_name(room: str) -> str:
    return f"chat.{room}"


def group_channel(room: str) -> str:
    """The Redis channel the pub/sub layer uses for a room's group."""
    return f"{chat_keys.LAYER_PREFIX}__group__{group_name(room)}"


def configure_layers(node_id: str) -> None:
    """In a worker node, before it serves: both layers, the chat mode picks one per message."""
    settings.CHANNEL_LAYERS = chat_channel_layers(redis_url())
