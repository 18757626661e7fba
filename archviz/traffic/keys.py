"""The Redis keys of the traffic generator (the lab's own are in archviz/core/keys.py)."""

# the traffic generator's settings (JSON), kept so that restarts resume them,
# and its latest snapshot (JSON), refreshed with every heartbeat
SETTINGS = "archviz:traffic:settings"
VIEW = "archviz:traffic:view"
