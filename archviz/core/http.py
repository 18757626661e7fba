"""What the lab's processes agree on over HTTP: the header naming the node that answered,
and how much work a node's /work endpoint takes on."""

NODE_HEADER = "X-Archviz-Node"
NO_NODE = "none"  # the node header of a response the load balancer made itself
MAX_WORK_MS = 10_000  # the most work one request may ask of a node
