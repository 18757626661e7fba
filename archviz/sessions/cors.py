"""Cross-origin rules for the cart: the dashboard's page calls the LB with credentials (pure).

The page is served by the dashboard (e.g. 127.0.0.1:8000) and calls the cart through the
load balancer (127.0.0.1:8100): another origin. With credentials (the cart's cookie) a
browser reads an answer only if it names the page's exact origin and allows credentials,
so the node answers CORS itself, for the dashboard's origins only.
"""

from collections.abc import Iterable

NODE_HEADER = "X-Archviz-Node"
ALLOWED_METHODS = "GET, POST, OPTIONS"
ALLOWED_HEADERS = "Content-Type"
PREFLIGHT_MAX_AGE_S = 600


def dashboard_origins(hosts: Iterable[str], ports: Iterable[int]) -> frozenset[str]:
    """Every origin a dashboard page can have: each host name it answers to, on each port."""
    names = [h for h in hosts if h and h != "*" and not h.startswith(".")]
    origins = set()
    for port in ports:
        for host in names:
            origins.add(f"http://{host}:{port}")
            if port == 80:  # a browser leaves the default port out of the Origin header
                origins.add(f"http://{host}")
    return frozenset(origins)


def cors_headers(origin: str | None, allowed: frozenset[str]) -> dict[str, str]:
    """The CORS headers of an answer to `origin`: its exact name, or none for a stranger."""
    headers = {"Vary": "Origin"}  # the answer differs by origin: caches must not share it
    if origin and origin in allowed:
        headers |= {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Credentials": "true",
            "Access-Control-Expose-Headers": NODE_HEADER,
        }
    return headers


def preflight_headers(origin: str | None, allowed: frozenset[str]) -> dict[str, str]:
    """The answer to a browser's OPTIONS preflight before a JSON POST."""
    headers = cors_headers(origin, allowed)
    if "Access-Control-Allow-Origin" in headers:
        headers |= {
            "Access-Control-Allow-Methods": ALLOWED_METHODS,
            "Access-Control-Allow-Headers": ALLOWED_HEADERS,
            "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE_S),
        }
    return headers


def write_refusal(origin: str | None, content_type: str, allowed: frozenset[str]) -> str | None:
    """Why a state-changing cart request is refused (cross-site request forgery), or None.

    The cart cookie is sent with any request to the LB's host, whichever site asks, so a
    write must come from a dashboard page: browsers always send Origin on a cross-origin
    POST and scripts cannot forge it. Requiring a JSON body also forces a CORS preflight,
    which a stranger's page fails, so its POST is never sent at all.
    """
    if not origin:
        return "a cart change must carry an Origin header (sent by browsers)"
    if origin not in allowed:
        return f"origin {origin[:80]!r} may not change the cart: only the dashboard's pages may"
    if content_type.split(";", 1)[0].strip().lower() != "application/json":
        return "a cart change must be JSON (Content-Type: application/json)"
    return None
