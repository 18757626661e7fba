"""The Redis keys of the sessions demo (the lab's own are in archviz/core/keys.py)."""

# the sessions demo: the session mode (a string), kept so that restarts keep it, and the
# prefix of the sessions Django's Redis cache keeps (archviz:sessions:1:django.contrib…)
MODE = "archviz:sessions:mode"
CACHE_PREFIX = "archviz:sessions"
