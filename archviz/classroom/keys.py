"""The Redis keys of a class (the lab's own are in archviz/core/keys.py). Every key has a
TTL, so a class nobody ends still goes away; every dashboard process reads the same ones."""

CHANNEL = "archviz:class:events"  # pub/sub: the class's state, forwarded to every tab
CURRENT = "archviz:class:current"  # the running class's id (one class per lab)


def code(join_code: str) -> str:
    """The class id a join code leads to."""
    return f"archviz:class:code:{join_code}"


def info(class_id: str) -> str:
    """Hash: code, by, started_ms, and `state` (JSON: where, paused, poll)."""
    return f"archviz:class:{class_id}"


def members(class_id: str) -> str:
    """Hash: member token -> display name."""
    return f"archviz:class:{class_id}:members"


def seen(class_id: str) -> str:
    """Hash: member token -> JSON {mode, ms}, their tab's last heartbeat."""
    return f"archviz:class:{class_id}:seen"


def answers(class_id: str) -> str:
    """Hash: member token -> choice, for the open (or revealed) question."""
    return f"archviz:class:{class_id}:answers"
