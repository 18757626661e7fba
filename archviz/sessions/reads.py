"""How this node's cart reads went, counted for its heartbeat: a read of a cookie's session
that the mode's store did not have is a cart the learner lost on this node."""

import threading
from collections import Counter

_lock = threading.Lock()  # the heartbeat reads from its own thread
_reads: Counter = Counter()


def count(found: bool) -> None:
    with _lock:
        _reads["found" if found else "missing"] += 1


def snapshot() -> dict[str, int]:
    """{"found": n, "missing": n}: reads with a cookie since this node started."""
    with _lock:
        return {"found": _reads["found"], "missing": _reads["missing"]}
