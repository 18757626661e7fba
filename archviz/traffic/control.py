"""The traffic generator's control command: its settings, applied live."""

from typing import Literal, NotRequired, TypedDict

from archviz.core.control import InvalidCommand, register_commands

# traffic.set limits: (field, type, minimum, maximum)
TRAFFIC_LIMITS = (
    ("rate", float, 0, 500),
    ("work_ms", float, 0, 5_000),
    ("variance_ms", float, 0, 5_000),
    ("ws_clients", int, 0, 500),
)
QUEUE_MODES = ("off", "also", "only")  # traffic.set's optional `queue`: where arrivals go too


class TrafficCommand(TypedDict):
    type: Literal["traffic.set"]
    rate: float  # requests per second, Poisson arrivals; 0 stops
    work_ms: float  # mean work each request asks of a node
    variance_ms: float  # standard deviation of that work
    ws_clients: int  # long-lived WebSocket clients to hold through the LB
    queue: NotRequired[str]  # off | also (each arrival also XADDs a job) | only; absent: as was
    by: str
    trace: str


def validate_traffic(obj: dict) -> dict:
    """The traffic settings, each a number within its limits."""
    settings = {}
    for field, kind, low, high in TRAFFIC_LIMITS:
        value = obj.get(field)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidCommand(f"{field} must be a number")
        if not low <= value <= high:
            raise InvalidCommand(f"{field} must be from {low} to {high}")
        settings[field] = kind(value)
    if "queue" in obj:
        if obj["queue"] not in QUEUE_MODES:
            raise InvalidCommand(f"queue must be one of {', '.join(QUEUE_MODES)}")
        settings["queue"] = obj["queue"]
    return settings


def page_config() -> dict:
    """The limits of the traffic panel, which the load-balancer and queue pages show."""
    return {"traffic_limits": {f: [low, high] for f, _kind, low, high in TRAFFIC_LIMITS}}


def register() -> None:
    register_commands(("traffic.set",), validate_traffic, carried_out_by="traffic")
