"""The nodes' two channel layers: one in this process only, one through Redis pub/sub."""

from django.conf import settings

from archviz.chat import keys as chat_keys
from archviz.core.redis_conn import CONNECT_TIMEOUT_S, redis_url

LOCAL, REDIS = "local", "redis"


def chat_channel_layers(redis_url: str) -> dict:
    """CHANNEL_LAYERS for a node: both modes configured, the mode picks one per message."""
    return {
        LOCAL: {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
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
                    }
                ],
                "prefix": chat_keys.LAYER_PREFIX,
                # JSON, so that the store's Lua script can publish a room message itself,
                # numbered and in order (archviz/chat/store.py)
                "serializer_format": "json",
            },
        },
    }


def group_name(room: str) -> str:
    return f"chat.{room}"


def group_channel(room: str) -> str:
    """The Redis channel the pub/sub layer uses for a room's group."""
    return f"{chat_keys.LAYER_PREFIX}__group__{group_name(room)}"


def configure_layers(node_id: str) -> None:
    """In a worker node, before it serves: both layers, the chat mode picks one per message."""
    settings.CHANNEL_LAYERS = chat_channel_layers(redis_url())
