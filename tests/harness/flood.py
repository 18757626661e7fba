"""Flooding a Redis channel until Redis closes its subscriber for its output buffer."""

import json

import redis

# a lab's ARCHVIZ_REDIS_PUBSUB_BUFFER_LIMIT for these tests: closed past 1 MB waiting
PUBSUB_LIMIT = "1mb 0 0"
FLOOD_MAX_BYTES = 64 * 1024 * 1024  # far more than the limit and the kernel's socket buffers
# a chat presence batch for a room nobody is in: a node's consumer reads it and ignores it
FILLER = json.dumps({"type": "chat.presence", "room": "nobody-here", "events": [],
                     "pad": "x" * 256 * 1024})  # fmt: skip


def flood_until_closed(url: str, channel: str) -> int:
    """Publish to `channel` until no one receives it (Redis closed the subscriber); bytes sent."""
    client = redis.Redis.from_url(url)
    sent = 0
    try:
        while client.publish(channel, FILLER):
            sent += len(FILLER)
            assert sent < FLOOD_MAX_BYTES, "Redis never closed the subscriber"
    finally:
        client.close()
    return sent
