"""The node's ASGI counting: what its heartbeat reports as requests."""

from archviz.core.metrics import ConnectionCounters
from archviz.node.asgi import CountConnections


async def _ok(scope, receive, send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


async def _request(app, path: str) -> None:
    async def receive():
        return {"type": "http.request", "body": b""}

    async def send(message):
        pass

    await app({"type": "http", "path": path, "method": "GET"}, receive, send)


async def test_health_checks_are_not_counted_as_requests() -> None:
    """An idle node checked by the balancer counts 0 requests; real ones are all counted."""
    counters = ConnectionCounters()
    app = CountConnections(_ok, counters)
    for _ in range(5):
        await _request(app, "/health")
    assert counters.requests_total == 0 and counters.connections == 0
    for path in ("/ping", "/work", "/cart/"):
        await _request(app, path)
    assert counters.requests_total == 3
