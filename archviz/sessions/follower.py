"""What a node knows for the sessions demo: the current mode and the dashboards' origins.

The mode is kept in Redis (sessions_keys.MODE) so that it survives restarts. A node reads it
when it starts and on every heartbeat, and switches at once on a `session.mode` command.
"""

import asyncio
import threading
from collections.abc import Callable

import redis

from archviz.core.control import listen_for_commands
from archviz.core.origins import registered_dashboard_origins
from archviz.sessions import keys as sessions_keys
from archviz.sessions.control import SessionModeCommand
from archviz.sessions.modes import DEFAULT_MODE, MODES, Mode, stored_mode


class ModeFollower:
    """The session mode and allowed origins of this node, kept up to date from Redis."""

    def __init__(self, node_id: str) -> None:
        self.node_id = node_id
        self.mode_name = DEFAULT_MODE
        self.origins: frozenset[str] = frozenset()

    @property
    def mode(self) -> Mode:
        return MODES[self.mode_name]

    def refresh(self, client: redis.Redis) -> None:
        """Read the stored mode and the registered dashboards (called on each heartbeat)."""
        self.mode_name = stored_mode(client.get(sessions_keys.MODE))
        self.origins = registered_dashboard_origins(client)

    async def on_command(self, command: SessionModeCommand) -> None:
        self.mode_name = command["mode"]

    def listen(self) -> threading.Thread:
        """Follow `session.mode` commands on a thread of its own (the node's loop is daphne's)."""
        thread = threading.Thread(
            target=asyncio.run,
            args=(listen_for_commands(self.node_id, "session.", self.on_command),),
            name="session-mode",
            daemon=True,
        )
        thread.start()
        return thread


_follower: ModeFollower | None = None


def set_follower(follower: ModeFollower) -> None:
    global _follower
    _follower = follower


def get_follower() -> ModeFollower:
    if _follower is None:
        raise RuntimeError("this process is not a node (start it with `manage.py node`)")
    return _follower


def start_following(node_id: str) -> Callable[[redis.Redis], None]:
    """In a worker node, before it serves: follow the mode; refresh it on every beat."""
    follower = ModeFollower(node_id)
    set_follower(follower)
    follower.listen()
    return follower.refresh
