"""The demo's servers rebind their port at once after a crash, as the supervisor restarts
them on the same port: a killed server's connections in TIME_WAIT do not block it."""

import asyncio
import socket

from aiohttp import web

from archviz.gateway.serving import listen


async def _ok(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def _runner() -> web.AppRunner:
    app = web.Application()
    app.router.add_get("/", _ok)
    runner = web.AppRunner(app)
    await runner.setup()
    return runner


async def test_a_port_left_in_time_wait_by_a_closed_server_is_bound_again() -> None:
    """The server side closes first (as a SIGKILLed one does): its end waits in TIME_WAIT;
    a new server still binds the same port."""
    first = await _runner()
    port = await listen(first, "127.0.0.1", 0)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    await writer.drain()
    await reader.readuntil(b"ok")
    await first.cleanup()  # the server closes the kept-alive connection first
    await reader.read()
    writer.close()
    second = await _runner()
    try:
        assert await listen(second, "127.0.0.1", port) == port
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            pass
    finally:
        await second.cleanup()
