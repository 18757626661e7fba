"""What the lab's processes agree on over HTTP: the header naming the node that answered,
how much work a node's /work endpoint takes on, and how the lab's own clients prove it.

A node does at most ANONYMOUS_WORK_MS of work for a request from anyone (a learner's tab asks
for 20 ms), and up to MAX_WORK_MS for the lab's own clients (the traffic generator, whose
work an instructor sets). Those send LAB_CLIENT_HEADER with `lab_client_token()`: an HMAC of
the Django SECRET_KEY, which every process of one lab shares (ARCHVIZ_SECRET_KEY, else the key
kept in ARCHVIZ_VAR_DIR) and no browser is ever sent.
"""

import functools
import hashlib
import hmac

from django.conf import settings

NODE_HEADER = "X-Archviz-Node"
NO_NODE = "none"  # the node header of a response the load balancer made itself
MAX_WORK_MS = 10_000  # the most work one request of the lab's own clients may ask of a node
ANONYMOUS_WORK_MS = 100  # the most work anyone else's request may ask
LAB_CLIENT_HEADER = "X-Archviz-Lab-Client"


@functools.cache
def _token(secret: str) -> str:
    return hmac.new(secret.encode(), b"archviz lab client", hashlib.sha256).hexdigest()


def lab_client_token(secret: str | None = None) -> str:
    """The value of LAB_CLIENT_HEADER for this lab (of `secret`, else the SECRET_KEY)."""
    return _token(settings.SECRET_KEY if secret is None else secret)


def is_lab_client(value: str | None) -> bool:
    """Whether a request's LAB_CLIENT_HEADER proves it comes from one of the lab's clients."""
    return value is not None and hmac.compare_digest(value.encode(), lab_client_token().encode())


def work_limit_ms(lab_client_header: str | None) -> float:
    """The most work a request carrying this header may ask for."""
    return MAX_WORK_MS if is_lab_client(lab_client_header) else ANONYMOUS_WORK_MS
