"""The Redis keys of the chat demo (the lab's own are in archviz/core/keys.py)."""

# chat rooms across nodes (archviz/chat): the broadcast mode ("local" or "redis"),
# kept so that restarts keep it, the rooms in use, and the bots' settings and view
MODE = "archviz:chat:mode"
ROOMS = "archviz:chat:rooms"  # set of room names
# sorted sets room -> unix ms: when it last had a member or a message (idle rooms expire),
# and when its last message was sent (the chat page lists rooms by activity)
ROOMS_ACTIVE = "archviz:chat:rooms:active"
ROOMS_LAST_MESSAGE = "archviz:chat:rooms:last_message"
PRESENCE_LOG = "archviz:chat:presence:log"  # recent join/leave/offline (JSON), capped
BOTS = "archviz:chat:bots"  # JSON {room: bot count}
BOTS_VIEW = "archviz:chat:bots:view"  # the bots process's latest snapshot (JSON)


def seq(room: str) -> str:
    """The room's last sequence number (a counter)."""
    return f"archviz:chat:seq:{room}"


def history(room: str) -> str:
    """The room's messages, a stream capped to the recent history, ids `<seq>-1`."""
    return f"archviz:chat:history:{room}"


def members(room: str) -> str:
    """Hash connection id -> JSON {user, node, since}: who is in the room, where."""
    return f"archviz:chat:members:{room}"


def seen(room: str) -> str:
    """Sorted set connection id -> last heartbeat (unix ms): presence expiry."""
    return f"archviz:chat:seen:{room}"


def ledger(room: str) -> str:
    """Hash of the room's delivery counters (sent, delivered, recovered, lost, …)."""
    return f"archviz:chat:ledger:{room}"


# the prefix of the channels-redis pub/sub layer's channels on the nodes: a room's
# group is the Redis channel "archviz:chat:layer:__group__chat.<room>"
LAYER_PREFIX = "archviz:chat:layer:"
