"""The Redis keys of the message queue (the lab's own are in archviz/core/keys.py)."""

# the message-queue demo: a stream of jobs read by one consumer group, the dead letters,
# counters (a hash), recent end-to-end latencies (a list) and the dedupe sets of done jobs
STREAM = "archviz:queue:jobs"
GROUP = "archviz-consumers"  # the consumer group's name (not a key)
DEAD = "archviz:queue:dead"
STATS = "archviz:queue:stats"
LATENCIES = "archviz:queue:latencies"
DONE_PREFIX = "archviz:queue:done:"


def done(window: int) -> str:
    """The ids of jobs whose effect was applied during one dedupe time window (a set): a
    redelivered job finds its id and is not counted twice."""
    return f"{DONE_PREFIX}{window}"


def enqueue_limit(who: str) -> str:
    """A token bucket (core.ratelimit) of learners' jobs: "all", "user:<name>",
    "socket:<id>" or "address:<ip>"."""
    return f"archviz:queue:limit:{who}"
