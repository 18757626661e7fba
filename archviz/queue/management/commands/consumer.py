"""`manage.py consumer`: one queue consumer process (the lab starts these, like nodes)."""

import logging
import os
import signal
import threading

import redis
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from archviz.lab import keys
from archviz.lab.child import die_with_parent, freeze_startup_heap
from archviz.lab.heartbeat import Heartbeat
from archviz.lab.redis_conn import blocking_client, sync_client
from archviz.lab.registry import Metrics, Registration, now_ms
from archviz.node.runtime import rss_bytes
from archviz.queue.logic import MAX_CONSUMER_WORK_MS
from archviz.queue.worker import QueueWorker
from archviz.trace import emitter

log = logging.getLogger(__name__)


class Command(BaseCommand):
    # The lab runs Django's system checks once before starting its children.
    requires_system_checks: list[str] = []
    help = "Run one queue consumer: XREADGROUP jobs from the stream, work, XACK."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--id", required=True, help="the consumer's id, e.g. consumer-1")

    def handle(self, *args, id: str, **options) -> None:
        die_with_parent()
        try:
            client = sync_client()
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from None
        trace = emitter.configure(id)
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        worker = QueueWorker(id, blocking=blocking_client(), client=client, trace=trace, stop=stop)
        registration = Registration(id, "consumer", os.getpid(), settings.ARCHVIZ_HOST, 0, now_ms())
        heartbeat = Heartbeat(
            registration,
            lambda: _metrics(worker),
            on_beat=lambda c: _read_config(worker, c),
            on_first_beat=lambda: trace.emit("node.up", "redis", detail={"pid": os.getpid()}),
        )
        heartbeat.start()
        freeze_startup_heap()
        try:
            worker.run()
        finally:
            heartbeat.stop()
            trace.close()


def _metrics(worker: QueueWorker) -> Metrics:
    view = worker.snapshot()
    return Metrics(
        id=worker.name,
        ts=now_ms(),
        connections=int(view["busy"]),
        rps=view["jobs_per_s"],
        rss_bytes=rss_bytes(),
        extra=view,
    )


def _read_config(worker: QueueWorker, client: redis.Redis) -> None:
    """The admin's per-job cost, applied live; a bad value keeps the last good one."""
    raw = client.hget(keys.node_config(worker.name), "work_ms")
    if raw is None:
        return
    try:
        value = float(raw)
    except ValueError:
        log.warning("%s: ignored bad work_ms %r", worker.name, raw)
        return
    worker.work_ms = min(max(value, 0.0), MAX_CONSUMER_WORK_MS)
