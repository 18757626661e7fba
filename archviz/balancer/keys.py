"""The Redis keys of the load balancer (the lab's own are in archviz/core/keys.py)."""

# each listener's current algorithm (a string), kept so that restarts keep it
ALGORITHM = "archviz:lb:algorithm"  # the nodes' listener
GATEWAY_ALGORITHM = "archviz:lb:gateway:algorithm"  # the gateway replicas' listener
SERVICES_ALGORITHM = "archviz:lb:services:algorithm"  # the catalog replicas' listener
DASHBOARDS_ALGORITHM = "archviz:lb:dashboards:algorithm"  # the dashboards' (a class's)
