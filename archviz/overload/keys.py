"""The Redis keys of the overload demo (the lab's own are in archviz/core/keys.py)."""

PREFIX = "archviz:overload:"
# The reconnect policy's hash is core/reconnect.py's POLICY_KEY (the bots read it there); a
# node's pressure report is core/keys.py's node_pressure(id).
# node id -> JSON {admission, reject_above, shed_above}: each node's values before an
# instructor switched the limiter off; empty while it is on
LIMITER_SAVED = PREFIX + "limiter:saved"
# JSON: the "double the offered load" scenario under way (see state.DoubleRun)
DOUBLE = PREFIX + "double"
# limiter mode ("on" / "off") -> JSON measurement of goodput at the doubled load
MEASURED = PREFIX + "measured"
