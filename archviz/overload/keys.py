"""The Redis keys of the overload demo (the lab's own are in archviz/core/keys.py)."""

PREFIX = "archviz:overload:"
# {policy, base_ms, cap_ms}: how bots and learners' tabs reconnect (issue 12's contract)
RECONNECT = PREFIX + "reconnect"
# node id -> JSON {admission, reject_above, shed_above}: each node's values before an
# instructor switched the limiter off; empty while it is on
LIMITER_SAVED = PREFIX + "limiter:saved"
# JSON: the "double the offered load" scenario under way (see state.DoubleRun)
DOUBLE = PREFIX + "double"
# limiter mode ("on" / "off") -> JSON measurement of goodput at the doubled load
MEASURED = PREFIX + "measured"


def pressure_report(node_id: str) -> str:
    """A node's pressure report, written every 100 ms with a 1.5 s expiry (the contract's
    `archviz:pressure:<id>`; the node side names it core/keys.py node_pressure)."""
    return f"archviz:pressure:{node_id}"
