"""How the gateway demo's aiohttp servers run as components: the auth and catalog services
and the gateway replicas each bind their port, register with the port actually bound (so
nothing is sent to them before they listen), serve until stopped, and clean up."""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable

from aiohttp import web

from archviz.core.registry import Metrics
from archviz.core.runner import Component, freeze_startup_heap

log = logging.getLogger(__name__)


class CannotListen(Exception):
    """A server's port could not be bound; the message names host and port."""


async def listen(runner: web.AppRunner, host: str, port: int) -> int:
    """Bind host:port (0: a free one) for a set-up runner; the port bound.

    SO_REUSEADDR: a replica SIGKILLed mid-connection leaves its side in TIME_WAIT for a
    minute, and Linux refuses to bind a port over a TIME_WAIT socket that lacked the flag, so
    the supervisor's restart on the same port failed until it gave up (the gateway page's
    "kill a gateway replica"). The flag never lets two listeners share a port (that is
    SO_REUSEPORT, kept off)."""
    site = web.TCPSite(runner, host, port, reuse_address=True, reuse_port=False)
    try:
        await site.start()
    except OSError as exc:
        raise CannotListen(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return runner.addresses[0][1]


async def serve_app(
    app: web.Application,
    running: Component,
    stop: asyncio.Event,
    *,
    host: str,
    port: int,
    metrics: Callable[[], Metrics],
    path: str,
    before_register: Callable[[], Awaitable[None]] | None = None,
    while_serving: Callable[[], Iterable[asyncio.Task]] = tuple,
) -> None:
    """Serve `app` as `running` on host:port until `stop` is set: listen, then
    `before_register`, then the heartbeat (with `metrics`) and the `while_serving` tasks,
    cancelled when it stops. `path` is where its routes begin, for the log."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        bound = await listen(runner, host, port)
        if before_register is not None:
            await before_register()
        freeze_startup_heap()  # what start-up made, out of every request's collections
        running.beat(metrics, port=bound, host=host)
        log.info("%s: serving on http://%s:%s%s", running.id, host, bound, path)
        tasks = list(while_serving())
        try:
            await stop.wait()
        finally:
            for task in tasks:
                task.cancel()
    finally:
        await runner.cleanup()
