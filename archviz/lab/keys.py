"""Every Redis key and channel archviz uses, in one place (see DESIGN.md)."""

PREFIX = "archviz:"

# pub/sub channels
TRACE_CHANNEL = "archviz:trace"  # trace events, JSON arrays
HEARTBEAT_CHANNEL = "archviz:heartbeat"  # "something in the lab changed": wakes the dashboards
CONTROL_CHANNEL = "archviz:control"  # commands to the supervisor
PONG_CHANNEL = "archviz:pong"  # a node's answer to a learner's ping

# streams
TRACE_LOG = "archviz:trace:log"  # the same trace events, capped, for replay

# hashes and strings
PROCESSES = "archviz:lab:processes"  # the supervisor's view: id -> JSON ProcessRecord
LAB_INFO = "archviz:lab:info"  # the running lab: dashboard URL, redis URL, supervisor pid


def registry(kind: str, component_id: str) -> str:
    """The registry hash of one component; it expires unless heartbeats refresh it."""
    return f"archviz:registry:{kind}:{component_id}"


def registry_pattern(kind: str = "*") -> str:
    return f"archviz:registry:{kind}:*"


def metrics(component_id: str) -> str:
    """The latest metrics snapshot of one component (JSON)."""
    return f"archviz:metrics:{component_id}"


def node_config(node_id: str) -> str:
    """A node's runtime parameters (weight, capacity, latency), applied live."""
    return f"archviz:config:{node_id}"


def ping_count(node_id: str) -> str:
    return f"archviz:pings:{node_id}"


# the load balancer's current algorithm (a string), kept so that restarts keep it
LB_ALGORITHM = "archviz:lb:algorithm"

# the traffic generator's settings (JSON), kept so that restarts resume them,
# and its latest snapshot (JSON), refreshed with every heartbeat
TRAFFIC_SETTINGS = "archviz:traffic:settings"
TRAFFIC_VIEW = "archviz:traffic:view"

# the sessions demo: the session mode (a string), kept so that restarts keep it, and the
# prefix of the sessions Django's Redis cache keeps (archviz:sessions:1:django.contrib…)
SESSION_MODE = "archviz:sessions:mode"
SESSIONS_CACHE_PREFIX = "archviz:sessions"
# the message-queue demo: a stream of jobs read by one consumer group, the dead letters,
# counters (a hash), recent end-to-end latencies (a list) and the dedupe sets of done jobs
QUEUE_STREAM = "archviz:queue:jobs"
QUEUE_GROUP = "archviz-consumers"  # the consumer group's name (not a key)
QUEUE_DEAD = "archviz:queue:dead"
QUEUE_STATS = "archviz:queue:stats"
QUEUE_LATENCIES = "archviz:queue:latencies"
QUEUE_DONE_PREFIX = "archviz:queue:done:"


def queue_done(window: int) -> str:
    """The ids of jobs whose effect was applied during one dedupe time window (a set): a
    redelivered job finds its id and is not counted twice."""
    return f"{QUEUE_DONE_PREFIX}{window}"


# chat rooms across nodes (archviz/chat): the broadcast mode ("local" or "redis"),
# kept so that restarts keep it, the rooms in use, and the bots' settings and view
CHAT_MODE = "archviz:chat:mode"
CHAT_ROOMS = "archviz:chat:rooms"  # set of room names
CHAT_PRESENCE_LOG = "archviz:chat:presence:log"  # recent join/leave/offline (JSON), capped
CHAT_BOTS = "archviz:chat:bots"  # JSON {room: bot count}
CHAT_BOTS_VIEW = "archviz:chat:bots:view"  # the bots process's latest snapshot (JSON)


def chat_seq(room: str) -> str:
    """The room's last sequence number (a counter)."""
    return f"archviz:chat:seq:{room}"


def chat_history(room: str) -> str:
    """The room's messages, a stream capped to the recent history, ids `<seq>-1`."""
    return f"archviz:chat:history:{room}"


def chat_members(room: str) -> str:
    """Hash connection id -> JSON {user, node, since}: who is in the room, where."""
    return f"archviz:chat:members:{room}"


def chat_seen(room: str) -> str:
    """Sorted set connection id -> last heartbeat (unix ms): presence expiry."""
    return f"archviz:chat:seen:{room}"


def chat_ledger(room: str) -> str:
    """Hash of the room's delivery counters (sent, delivered, recovered, lost, …)."""
    return f"archviz:chat:ledger:{room}"


# the prefix of the channels-redis pub/sub layer's channels on the nodes: a room's
# group is the Redis channel "archviz:chat:layer:__group__chat.<room>"
CHAT_LAYER_PREFIX = "archviz:chat:layer:"
