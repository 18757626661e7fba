"""Cross-origin rules for the cart: the dashboard's page calls the LB with credentials (pure).

The page is served by the dashboard (e.g. 127.0.0.1:8000) and calls the cart through the
load balancer (127.0.0.1:8100): another origin. With credentials (the cart's cookie) a
browser reads an answer only if it names the page's exact origin and allows credentials,
so the node answers CORS itself, for the dashboard's origins only.
"""

from archviz.core.origins import cors_headers

ALLOWED_METHODS = "GET, POST, OPTIONS"
ALLOWED_HEADERS = "Content-Type"
PREFLIGHT_MAX_AGE_S = 600


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
