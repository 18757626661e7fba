"""Markers on a recording's timeline: faults, nodes going down and up, lesson steps and
instructor actions. Pure helpers that make them, and one writer."""

from archviz.core.recording_markers import (  # noqa: F401 (the recorder's vocabulary)
    MARKER_KINDS,
    MARKERS,
    Marker,
    add,
    lesson_step,
    marker,
)

NODE_KINDS = frozenset({"node.down", "node.up", "node.failed", "node.heartbeat_lost"})


def from_event(event: dict) -> Marker | None:
    """The marker a trace event makes, if it is a fault or a node's life-cycle event."""
    kind = event["kind"]
    if kind.startswith("fault."):
        action = event["detail"].get("action", kind)
        by = event["detail"].get("by", "")
        return marker(
            event["ts"], "fault", f"{action} {event['dst']} by {by}".strip(), event["dst"]
        )
    if kind in NODE_KINDS:
        node = event["src"] if kind == "node.up" else event["dst"]  # node.up: node -> redis
        return marker(event["ts"], "node", f"{node}: {kind}", node)
    return None


def from_set_by(before: dict[str, dict], after: dict[str, dict]) -> list[Marker]:
    """Instructor actions between two keyframes: the shared state whose setter changed."""
    found = []
    for what, entry in after.items():
        if before.get(what, {}).get("ts") != entry.get("ts") and entry.get("ts"):
            where = f" on {entry['page']}" if entry.get("page") else ""
            label = f"{entry.get('by') or 'someone'} set {what}{where}"
            found.append(marker(float(entry["ts"]), "instructor", label))
    return found
