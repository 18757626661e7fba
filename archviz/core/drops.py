"""What the stack drops without a word, counted in this process for its heartbeat.

These drops happen below the lab's own code. channels' InMemoryChannelLayer.group_send
skips a member whose channel is at capacity (it swallows ChannelFull), and the layer throws
away messages left unread past its expiry; the chat's local layer counts both
(archviz/chat/layers.py). And Redis closes a pub/sub subscriber whose output buffer passes
`client-output-buffer-limit pubsub`: redis-py then reconnects and resubscribes by itself, so
the messages that were in that buffer are gone and nothing says so. The subscriber's side of
that is a pub/sub connection lost with an error: PubSubWatchedConnection counts it. (The
server's side, the lab-wide count, is in archviz/lab/redis_log.py.)
"""

import contextlib
import threading
from dataclasses import asdict, dataclass
from typing import Any

from redis.asyncio.connection import Connection

from archviz.trace.emitter import get_emitter


@dataclass
class DropCounters:
    # group sends skipped because the member's channel was full (in-memory layer)
    group_full_total: int = 0
    # messages left unread past the layer's expiry (60 s), thrown away (in-memory layer)
    expired_total: int = 0
    # pub/sub connections lost with an error (Redis closed them: output buffer limit,
    # restart, kill); redis-py reconnected, what was in flight is lost
    pubsub_lost_total: int = 0


_lock = threading.Lock()  # the heartbeat thread reads while the event loop counts
_counters = DropCounters()


def count(name: str, n: int = 1) -> None:
    with _lock:
        setattr(_counters, name, getattr(_counters, name) + n)


def snapshot() -> dict[str, Any]:
    """The counters now, for the heartbeat's metrics."""
    with _lock:
        return asdict(_counters)


class PubSubWatchedConnection(Connection):
    """A redis-py connection that counts the loss of a pub/sub connection.

    A PubSub registers a connect callback (to resubscribe) on its connection and no other
    user of the pool does, so a connection with one is a subscriber's. redis-py hands the
    error that broke it to disconnect() just before it reconnects.
    """

    async def disconnect(self, *args: Any, error: Exception | None = None, **kwargs: Any) -> None:
        if error is not None and self.is_connected and self._connect_callbacks:
            count("pubsub_lost_total")
            _trace_lost(error)
        await super().disconnect(*args, error=error, **kwargs)


def _trace_lost(error: Exception) -> None:
    with contextlib.suppress(RuntimeError):  # no emitter in this process (a script, a test)
        detail = {"error": str(error), "then": "reconnect and resubscribe"}
        get_emitter().emit("pubsub.lost", "redis", ok=False, detail=detail)
