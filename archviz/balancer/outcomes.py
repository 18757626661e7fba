"""How the proxy names what happened to a request in its trace events (pure)."""

from archviz.balancer.headers import ClientRequest, client_address, cookie

STICKY_COOKIE = "archviz_sticky"


def outcome(status: int, queued: bool) -> str:
    if status == 503:
        return "rejected"  # the node is at capacity
    if status >= 500:
        return "failed"
    return "queued" if queued else "ok"


def sticky_key(request: ClientRequest) -> str:
    """What a sticky algorithm hashes: the session cookie, else the client's address."""
    return cookie(request.headers, STICKY_COOKIE) or client_address(request)


def where(request: ClientRequest) -> dict[str, str]:
    return {"path": request.path, "client": client_address(request)}


def describe_error(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text[:200]
