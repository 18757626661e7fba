"""The three session modes of the demo: where a session lives and how the LB routes (pure)."""

from dataclasses import dataclass
from typing import Literal

Store = Literal["memory", "redis"]


@dataclass(frozen=True)
class Mode:
    """One way of keeping a session, and the balancing algorithm its lesson needs."""

    name: str
    store: Store
    algorithm: str  # archviz.balancer.algorithms name, switched with the mode
    label: str


MODES: dict[str, Mode] = {
    mode.name: mode
    for mode in (
        Mode("local", "memory", "round_robin", "In-process sessions, round robin"),
        # consistent_hash hashes the archviz_sticky cookie (archviz.balancer.proxy)
        Mode("sticky", "memory", "consistent_hash", "Sticky sessions, LB cookie hash"),
        Mode("redis", "redis", "round_robin", "Redis-backed sessions, round robin"),
    )
}
MODE_NAMES: tuple[str, ...] = tuple(MODES)
DEFAULT_MODE = "local"


class InvalidMode(ValueError):
    """Not a session mode; the message names the valid ones."""


def parse_mode(value: object) -> str:
    """The mode's name, or InvalidMode."""
    if isinstance(value, bytes):
        value = value.decode(errors="replace")
    if not isinstance(value, str) or value not in MODES:
        raise InvalidMode(f"unknown session mode {value!r}; use one of {', '.join(MODE_NAMES)}")
    return value


def stored_mode(raw: bytes | str | None) -> str:
    """The mode kept in Redis, or the default when there is none or it is not a mode."""
    try:
        return parse_mode(raw)
    except InvalidMode:
        return DEFAULT_MODE


def where(store: Store, node_id: str) -> str:
    """Where a session is kept, in the words the trace and the page use."""
    return "redis" if store == "redis" else f"{node_id} memory"
