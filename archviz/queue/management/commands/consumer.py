"""`manage.py consumer`: one queue consumer process (the lab starts these, like nodes)."""

import logging
import os
import signal
import threading

import redis
from django.core.management.base import BaseCommand

from archviz.core import keys
from archviz.core.redis_conn import blocking_client, sync_client
from archviz.core.registry import Metrics
from archviz.core.runner import Component, component, freeze_startup_heap
from archviz.queue.logic import MAX_CONSUMER_WORK_MS
from archviz.queue.worker import QueueWorker

log = logging.getLogger(__name__)


class Command(BaseCommand):
    # The lab runs Django's system checks once before starting its children.
    requires_system_checks: list[str] = []
    help = "Run one queue consumer: XREADGROUP jobs from the stream, work, XACK."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--id", required=True, help="the consumer's id, e.g. consumer-1")

    def handle(self, *args, id: str, **options) -> None:
        with component(id, "consumer") as running:
            stop = threading.Event()
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda *_: stop.set())
            worker = QueueWorker(
                id, blocking=blocking_client(), client=sync_client(), trace=running.trace, stop=stop
            )
            running.beat(
                lambda: _metrics(worker, running),
                on_beat=lambda client: _read_config(worker, client),
                on_first_beat=lambda: running.trace.emit(
                    "node.up", "redis", detail={"pid": os.getpid()}
                ),
            )
            freeze_startup_heap()
            worker.run()


def _metrics(worker: QueueWorker, running: Component) -> Metrics:
    view = worker.snapshot()
    return running.metrics(connections=int(view["busy"]), rps=view["jobs_per_s"], extra=view)


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
