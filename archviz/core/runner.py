"""The component runner: how every long-running process of the lab starts, registers,
beats, listens for commands and stops.

    with component("traffic", "traffic") as running:
        running.run_async(main)   # or running.serve(application, ...), running.beat(...)

On entry it asks to die with the supervisor, fails at once with a clear error when Redis is
not configured, and starts the process's trace emitter. On exit it deregisters (so nobody
routes here any more) and publishes what the emitter still holds.
"""

import asyncio
import contextlib
import ctypes
import gc
import os
import signal
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from typing import Any

import redis
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import CommandError

from archviz.core.control import ControlCommand, listen_for_commands
from archviz.core.heartbeat import Heartbeat
from archviz.core.metrics import ConnectionCounters, rss_bytes
from archviz.core.redis_conn import shared_client, sync_client
from archviz.core.registry import Metrics, Registration
from archviz.core.serve import serve
from archviz.trace import emitter
from archviz.trace.emitter import Emitter
from archviz.trace.events import now_ms

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Called first thing in a child: SIGTERM us if the supervisor dies, even by SIGKILL.

    Linux only; elsewhere a SIGKILLed supervisor leaves its children running.
    """
    supervisor_pid = os.environ.get("ARCHVIZ_SUPERVISOR_PID")
    if not supervisor_pid:
        return  # started by hand, not by the lab
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        return
    if os.getppid() != int(supervisor_pid):  # it died before we could ask
        os.kill(os.getpid(), signal.SIGTERM)


def freeze_startup_heap() -> None:
    """Called by a busy child once it serves: take what start-up allocated (Django, the
    libraries) out of the garbage collector's reach.

    Work allocates enough to set off collections, and each full one walked all of that
    again: profiling showed the collector at about a seventh of the balancer's CPU.
    """
    gc.collect()
    gc.freeze()


def run_loop(main: Coroutine[Any, Any, None]) -> None:
    """Run `main` on uvloop when installed, else on asyncio's own loop. Measured: a fifth
    less CPU per proxied request in the balancer, and the gateway replicas and services are
    the same kind of aiohttp servers and clients."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
    else:
        uvloop.run(main)


class Component:
    """One running component: its id and kind, its trace emitter, and its heartbeat."""

    def __init__(self, component_id: str, kind: str, trace: Emitter) -> None:
        self.id = component_id
        self.kind = kind
        self.trace = trace
        self.counters = ConnectionCounters()  # what it serves, for its metrics
        self.heartbeat: Heartbeat | None = None

    def metrics(self, **fields: Any) -> Metrics:
        """A metrics snapshot of this process, now, with its resident memory."""
        return Metrics(id=self.id, ts=now_ms(), rss_bytes=rss_bytes(), **fields)

    def beat(
        self,
        collect: Callable[[], Metrics] | None = None,
        *,
        port: int = 0,
        host: str | None = None,
        on_beat: Callable[[redis.Redis], None] | None = None,
        on_first_beat: Callable[[], None] | None = None,
    ) -> Heartbeat:
        """Register in the registry and keep the registration and metrics fresh."""
        registration = Registration(
            self.id, self.kind, os.getpid(), host or settings.ARCHVIZ_HOST, port, now_ms()
        )
        self.heartbeat = Heartbeat(
            registration,
            collect or self.metrics,
            on_beat=on_beat,
            on_first_beat=on_first_beat,
        ).start()
        return self.heartbeat

    def serve(
        self,
        application,
        *,
        host: str,
        port: int,
        setting: str,
        on_ready: Callable[[], None] | None = None,
        **beat_options: Any,
    ) -> None:
        """Serve an ASGI application under daphne; register once it listens. `on_ready`
        runs on daphne's event loop before it serves (core/serve.py)."""
        serve(application, host, port, setting=setting, on_ready=on_ready,
              on_listening=lambda: self.beat(port=port, host=host, **beat_options))  # fmt: skip

    def run_async(self, main: Callable[["Component", asyncio.Event], Awaitable[None]]) -> None:
        """Run `main(component, stop)` on an event loop (run_loop's); SIGINT or SIGTERM sets
        `stop`."""

        async def _main() -> None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            await main(self, stop)

        run_loop(_main())

    def listen(
        self,
        prefix: str | tuple[str, ...],
        carry_out: Callable[[ControlCommand], Awaitable[None]],
    ) -> asyncio.Task:
        """Carry out the control commands whose type starts with `prefix`, until cancelled."""
        return asyncio.create_task(listen_for_commands(self.id, prefix, carry_out))

    def stop(self) -> None:
        if self.heartbeat is not None:
            self.heartbeat.stop()
        self.trace.close()


_current: Component | None = None


def set_current_component(running: Component | None) -> None:
    """Name the component this process runs (done by `component`; tests play one)."""
    global _current
    _current = running


def current_component() -> Component:
    """The component this process runs: a node's demos ask which node they are on."""
    if _current is None:
        raise RuntimeError("this process runs no component of the lab (see manage.py lab)")
    return _current


@contextlib.contextmanager
def component(component_id: str, kind: str, *, trace_as: str = "") -> Iterator[Component]:
    """Start a component of the lab in this process, and stop it cleanly on the way out.

    Its trace events name it `trace_as` (default: its id): every dashboard process is
    "dashboard" in the picture.
    """
    die_with_parent()
    try:
        shared_client()
    except ImproperlyConfigured as exc:
        raise CommandError(str(exc)) from None
    trace = emitter.configure(trace_as or component_id, sync_client)
    running = Component(component_id, kind, trace)
    set_current_component(running)
    try:
        yield running
    finally:
        running.stop()
        set_current_component(None)
