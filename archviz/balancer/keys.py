"""The Redis keys of the load balancer (the lab's own are in archviz/core/keys.py)."""

# the load balancer's current algorithm (a string), kept so that restarts keep it
ALGORITHM = "archviz:lb:algorithm"
