"""The Redis keys and channels of the lab itself (see DESIGN.md); each app keeps its own
in its keys.py (archviz/queue/keys.py, ...), all under the prefix `archviz:`."""

# the trace's channel and replay stream are defined with the events they carry
from archviz.trace.events import TRACE_CHANNEL, TRACE_LOG  # noqa: F401

# pub/sub channels
HEARTBEAT_CHANNEL = "archviz:heartbeat"  # "something in the lab changed": wakes the dashboards
CONTROL_CHANNEL = "archviz:control"  # commands to the supervisor
PONG_CHANNEL = "archviz:pong"  # a node's answer to a learner's ping

# hashes and strings
PROCESSES = "archviz:lab:processes"  # the supervisor's view: id -> JSON ProcessRecord
LAB_INFO = "archviz:lab:info"  # the running lab: the supervisor's pid, its Redis log's counts


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


def node_pressure(node_id: str) -> str:
    """A node's pressure report (JSON, core/pressure_report.py), set every 100 ms with a
    1.5 s expiry: a missing key means the node is not reporting (frozen or dead)."""
    return f"archviz:pressure:{node_id}"


def ping_count(node_id: str) -> str:
    return f"archviz:pings:{node_id}"


def signin_link(digest: str) -> str:
    """A one-time sign-in link, by the SHA-256 of its token (never the token): it expires."""
    return f"archviz:signin:{digest}"


SET_BY = "archviz:set_by"  # what of the shared state was set last by whom: what -> JSON (set_by.py)
