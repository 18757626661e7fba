"""The Redis keys of the API gateway demo (the lab's own are in archviz/core/keys.py)."""

PREFIX = "archviz:gateway:"
