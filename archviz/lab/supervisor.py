"""The lab supervisor: starts every process, keeps them to the admin's config, obeys commands.

Like a controller, it reconciles what runs to what the database asks for, restarts
crashed children with backoff, and publishes what it knows in Redis. It never dies
because a child crashed or a command was malformed.
"""

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import Callable

import redis
from asgiref.sync import sync_to_async

from archviz.core import hooks, registry
from archviz.core.control import listen_for_commands
from archviz.core.ports import free_port, port_is_free
from archviz.core.redis_conn import shared_client
from archviz.lab.backoff import RestartPolicy
from archviz.lab.child import Child, ProcessRecord, describe_exit, manage_py_command
from archviz.lab.commands import STOP_TIMEOUT_S, Commands
from archviz.lab.dashboards import DASHBOARD_ID, Dashboards, service_port, until_answering
from archviz.lab.embedded_redis import EmbeddedRedis
from archviz.lab.reconcile import ChildSpec, Start, Stop, Update, plan
from archviz.lab.records import Records, forget, write_config
from archviz.trace.emitter import Emitter

log = logging.getLogger(__name__)

TICK_S = 0.25
RECONCILE_EVERY_S = 1.0
DEMO_SERVICES_AFTER_S = 8.0  # start the apps' services by then even if a node is not up


class Supervisor:
    def __init__(
        self,
        *,
        host: str,
        dashboard_port: int,
        node_base_port: int,
        redis_url: str,
        embedded_redis: EmbeddedRedis | None,
        emitter: Emitter,
        load_desired: Callable[[], list[ChildSpec]],
        policy: RestartPolicy | None = None,
        announce: Callable[[str], None] = print,
        on_ready: Callable[[str, int], None] | None = None,
        dashboards: int = 1,
    ) -> None:
        self.host = host
        self.services = hooks.services()  # the apps' own: the LB, the traffic generator, ...
        self.dashboards = Dashboards(dashboards, dashboard_port, self.services)
        self.node_base_port = node_base_port
        self.redis_url = redis_url
        self.embedded_redis = embedded_redis
        self.trace = emitter
        self._load_desired = sync_to_async(load_desired, thread_sensitive=True)
        self.policy = policy or RestartPolicy()
        self.announce = announce
        self.on_ready = on_ready  # (host, port) of the dashboard, once it answers; blocking
        self.children: dict[str, Child] = {}
        self._stop = asyncio.Event()
        self._next_reconcile = 0.0
        self._redis_restart_at: float | None = None
        self._redis_crashes = 0
        self._buffer_closes_traced = 0
        self._announced = False
        self.records = Records()
        self._background: set[asyncio.Task] = set()
        self._demos_due = time.monotonic() + DEMO_SERVICES_AFTER_S
        self._demos_started = False
        self._any_port: set[str] = set()  # services on a port picked free: a new one if taken
        self.commands = Commands(self)

    # --- lifecycle -------------------------------------------------------------

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._stop.set)
        await self._redis(self.records.clear_stale)
        await self._start_services()
        listener = asyncio.create_task(
            listen_for_commands("supervisor", self.commands.prefixes(), self.commands.carry_out)
        )
        try:
            while not self._stop.is_set():
                await self._tick()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), TICK_S)
        finally:
            listener.cancel()
            await self._shutdown()

    async def _shutdown(self) -> None:
        """Stop every child (SIGTERM, then SIGKILL), then Redis: all within about 5 s."""
        self.announce("stopping the lab…")
        await asyncio.gather(
            *(child.terminate(STOP_TIMEOUT_S) for child in self.children.values()),
            return_exceptions=True,
        )
        await asyncio.to_thread(self.trace.close, 0.5)
        if self.embedded_redis is not None:
            await asyncio.to_thread(self.embedded_redis.stop)
        self.announce("lab stopped; no process left running.")

    async def _tick(self) -> None:
        now = time.monotonic()
        await self._watch_redis(now)
        self._trace_buffer_closes()
        for child in list(self.children.values()):
            await self._watch_child(child, now)
        if now >= self._next_reconcile:
            self._next_reconcile = now + RECONCILE_EVERY_S
            await self._reconcile()
        await self._check_registrations()
        await self._start_demo_services(now)
        await self._redis(self._publish_records)

    # --- children --------------------------------------------------------------

    def _child_env(self, kind: str) -> dict[str, str]:
        redis_url = self.embedded_redis.url_for(kind) if self.embedded_redis else self.redis_url
        return os.environ | {
            "REDIS_URL": redis_url,  # the embedded Redis's user for the child's role
            "ARCHVIZ_SUPERVISOR_PID": str(os.getpid()),
            "PYTHONUNBUFFERED": "1",
        }

    async def _start_services(self) -> None:
        """The dashboards (and what fronts several: lab/dashboards.py), before anything."""
        for child_id, kind, port, args in self.dashboards.to_start(self.host):
            await self._start_service(child_id, kind, port, *args)

    async def _start_demo_services(self, now: float) -> None:
        """The apps' services (the load balancer, the traffic generator, ...) start once the
        nodes are up (or after a while regardless), so that on two cores the nodes come up
        first."""
        if self._demos_started:
            return
        nodes = [c for c in self.children.values() if c.spec is not None]
        if any(c.record.status == "starting" for c in nodes) and now < self._demos_due:
            return
        self._demos_started = True
        for service in self.services:
            if service.id not in self.children:  # the balancer may front the dashboards
                await self._start_service(service.id, service.kind, service_port(service))

    async def _start_service(
        self, child_id: str, kind: str, port: int | None, *more_args: str
    ) -> None:
        if port == 0:
            self._any_port.add(child_id)
        if port is not None:
            port = port or free_port(self.host)
        args = ["--port", str(port), "--host", self.host] if port is not None else []
        record = ProcessRecord(id=child_id, kind=kind, port=port)
        command = manage_py_command(kind, "--id", child_id, *args, *more_args)
        child = Child(record, command, spec=None)
        self.children[child_id] = child
        await self.spawn(child)

    async def spawn(self, child: Child) -> None:
        await child.spawn(self._child_env(child.record.kind))
        if child.spec is not None:
            await self._redis(write_config, child)
        self.trace.emit(
            "node.start",
            child.id,
            detail={"pid": child.record.pid, "port": child.record.port,
                    "restarts": child.record.restarts},
        )  # fmt: skip

    async def _watch_child(self, child: Child, now: float) -> None:
        if child.process is not None and not child.running() and not child.exit_handled:
            child.exit_handled = True
            await self._on_exit(child)
        if child.restart_at is not None and now >= child.restart_at:
            child.record.restarts += 1
            self._new_port_if_taken(child)
            await self.spawn(child)

    async def _on_exit(self, child: Child) -> None:
        reason = describe_exit(child.process.returncode)
        if child.killed_by:
            reason, child.killed_by = f"{reason} on {child.killed_by}'s command", ""
        await self._redis(registry.deregister, shared_client(), child.record.kind, child.id)
        if child.remove_after_stop:
            self.children.pop(child.id, None)
            await self._redis(forget, child.id)
            self.trace.emit("node.stop", child.id, detail={"reason": "removed in the admin"})
            return
        if child.stopping:
            await self._after_requested_stop(child, reason)
            return
        decision = self.policy.after_exit(child.crashes, child.uptime())
        child.crashes = decision.crashes
        if decision.delay_s is None:
            child.record.status = "failed"
            child.record.detail = (
                f"crashed {decision.crashes - 1} times in a row ({reason}); gave up — "
                "press Restart once it is fixed"
            )
            self.trace.emit("node.failed", child.id, ok=False, detail={"reason": reason})
            return
        delay_s, child.hold_restart_s = max(decision.delay_s, child.hold_restart_s), 0.0
        child.record.status = "down"
        child.record.detail = f"{reason}; restarting in {delay_s:.1f} s"
        child.restart_at = time.monotonic() + delay_s
        self.trace.emit(
            "node.down", child.id, ok=False, detail={"reason": reason, "restart_in_s": delay_s}
        )

    async def _after_requested_stop(self, child: Child, reason: str) -> None:
        if child.restart_after_stop:
            child.restart_after_stop = False
            child.crashes = 0
            child.record.restarts += 1
            await self.spawn(child)
            return
        child.record.status = "stopped"
        child.record.detail = "stopped on purpose; press Restart to start it again"
        self.trace.emit("node.stop", child.id, detail={"reason": reason})

    async def _check_registrations(self) -> None:
        """Mark children up when they register; notice heartbeats lost while alive."""
        try:
            live = await asyncio.to_thread(registry.registered, shared_client())
        except redis.RedisError:
            return
        pids = {r.id: r.pid for r in live}
        for child in self.children.values():
            if not child.running():
                continue
            is_registered = pids.get(child.id) == child.record.pid
            if child.paused_by:
                continue  # "paused" until resumed, whatever its registration says meanwhile
            if is_registered and child.record.status != "up":
                child.record.status, child.record.detail = "up", ""
                child.registered = True
                await self._announce_when_ready()
            elif is_registered or child.stopping:
                continue  # a child asked to stop deregisters before it exits: not "silent"
            elif child.registered and child.record.status == "up":
                child.record.status = "down"
                child.record.detail = "heartbeat lost: the process is alive but silent"
                self.trace.emit(
                    "node.heartbeat_lost", child.id, ok=False, detail={"why": child.record.detail}
                )

    async def _announce_when_ready(self) -> None:
        """Say where the lab is once learners can open it: the dashboard registered, or every
        dashboard and the listener in front of them, once it answers."""
        if self._announced or not self.dashboards.ready(self.children):
            return
        self._announced = True
        if self.dashboards.front is None:
            await self._announce(self.children[DASHBOARD_ID].record.port)
        else:
            self.in_background(self._announce_once_answering())

    async def _announce_once_answering(self) -> None:
        await until_answering(self.host, self.dashboards.public_port)
        await self._announce(self.dashboards.public_port)

    async def _announce(self, port: int) -> None:
        note = self.dashboards.note()
        self.announce(
            f"archviz lab is running: http://{self.host}:{port}/  ({note}Ctrl-C stops it)"
        )
        if self.on_ready is not None:
            await asyncio.to_thread(self.on_ready, self.host, port)

    def in_background(self, coroutine) -> None:
        """Stop a child without holding up the tick loop (the exit is noticed there)."""
        task = asyncio.create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # --- reconcile ---------------------------------------------------------------

    async def _reconcile(self) -> None:
        try:
            desired = await self._load_desired()
        except Exception:  # a locked or half-migrated database must not stop the lab
            log.exception("could not read the desired children; keeping what runs")
            return
        running = {c.id: c.spec for c in self.children.values() if c.spec is not None}
        for action in plan(desired, running):
            if isinstance(action, Start):
                await self._start_child(action.spec)
            elif isinstance(action, Stop):
                await self._remove_node(self.children[action.name])
            elif isinstance(action, Update):
                child = self.children[action.spec.name]
                child.spec = action.spec
                child.record.spec = action.spec.runtime_params()
                await self._redis(write_config, child)
                self.trace.emit("node.update", child.id, detail=action.spec.runtime_params())

    async def _start_child(self, spec: ChildSpec) -> None:
        """A node (on a port of its own), a queue consumer, one of the gateway demo's
        processes..., as its spec's kind says."""
        port = self._allocate_port(spec) if spec.needs_port else None
        record = ProcessRecord(id=spec.name, kind=spec.kind, port=port, spec=spec.runtime_params())
        args = ["--port", str(port)] if port is not None else []
        child = Child(record, manage_py_command(spec.kind, "--id", spec.name, *args), spec)
        self.children[spec.name] = child
        await self.spawn(child)

    def _new_port_if_taken(self, child: Child) -> None:
        """A child on any free port whose port another listener took while it was down gets a
        new one: on the same port it would crash at every restart until given up on (two
        processes can pick the same free port before either binds it)."""
        spec, port = child.spec, child.record.port
        any_port = child.id in self._any_port or getattr(spec, "any_free_port", False)
        if port is None or not any_port or port_is_free(self.host, port):
            return
        child.move_to_port(free_port(self.host))
        log.info("%s: port %s was taken; restarting it on %s", child.id, port, child.record.port)

    def _allocate_port(self, spec: ChildSpec) -> int:
        if self.node_base_port == 0 or getattr(spec, "any_free_port", False):
            return free_port(self.host)
        taken = {c.record.port for c in self.children.values()}
        port = self.node_base_port
        while port in taken or not port_is_free(self.host, port):
            port += 1
        return port

    async def _remove_node(self, child: Child) -> None:
        child.remove_after_stop = True
        child.restart_at = None
        if child.running():
            self.in_background(child.terminate(STOP_TIMEOUT_S))
        else:
            child.exit_handled = False  # let _watch_child forget it on the next tick

    # --- redis -------------------------------------------------------------------

    async def _watch_redis(self, now: float) -> None:
        """Restart the embedded Redis if it died, with the same backoff as any child."""
        server = self.embedded_redis
        if server is None or server.alive():
            return
        if self._redis_restart_at is None:
            decision = self.policy.after_exit(self._redis_crashes, 0.0)
            self._redis_crashes = decision.crashes
            self._redis_restart_at = now + (decision.delay_s or self.policy.max_delay_s)
            self.trace.emit("redis.down", "redis", ok=False, detail={"port": server.port})
            self.announce(f"embedded Redis died; restarting it on port {server.port}")
            return
        if now >= self._redis_restart_at:
            self._redis_restart_at = None
            try:
                server.spawn()  # from the main thread: the parent-death signal follows it
                await asyncio.to_thread(server.wait_until_ready)
            except RuntimeError as exc:
                log.error("could not restart Redis: %s", exc)
                return
            self.trace.emit("redis.up", "redis", detail={"port": server.port})

    def _trace_buffer_closes(self) -> None:
        """One trace event for the clients the embedded Redis closed since the last tick."""
        if self.embedded_redis is None:
            return
        total = self.embedded_redis.log_watch.output_buffer_closes
        if total > self._buffer_closes_traced:
            new, self._buffer_closes_traced = total - self._buffer_closes_traced, total
            detail = {"count": new, "total": total, "reason": "client-output-buffer-limit pubsub"}
            self.trace.emit("redis.client_closed", "client", src="redis", ok=False, detail=detail)

    async def _redis(self, fn: Callable, *args) -> None:
        """Run a short Redis write off the event loop; an outage is logged, not fatal."""
        try:
            await asyncio.to_thread(fn, *args)
        except redis.RedisError as exc:
            log.debug("redis write skipped: %s", exc)

    def _publish_records(self) -> None:
        info = {}
        if front_port := self.dashboards.public_port:  # the origin of the learners' pages
            info["dashboards_port"] = front_port
        if self.embedded_redis is not None:  # what its log said (Redis 6.2 INFO cannot)
            info["redis_output_buffer_closes"] = self.embedded_redis.log_watch.output_buffer_closes
        self.records.publish(self.children.values(), info)
