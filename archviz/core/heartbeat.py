"""A background thread that keeps a component registered and its metrics fresh."""

import contextlib
import logging
import threading
from collections.abc import Callable

import redis

from archviz.core.redis_conn import sync_client
from archviz.core.registry import (
    HEARTBEAT_INTERVAL_S,
    Metrics,
    Registration,
    deregister,
    register,
)

log = logging.getLogger(__name__)


class Heartbeat:
    """Every interval: refresh the registration, publish metrics, then call on_beat."""

    def __init__(
        self,
        registration: Registration,
        collect: Callable[[], Metrics],
        *,
        on_beat: Callable[[redis.Redis], None] | None = None,
        on_first_beat: Callable[[], None] | None = None,
        interval: float = HEARTBEAT_INTERVAL_S,
    ) -> None:
        self.registration = registration
        self._collect = collect
        self._on_beat = on_beat
        self._on_first_beat = on_first_beat
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)
        self._client: redis.Redis | None = None
        self.beats = 0

    def start(self) -> "Heartbeat":
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop beating and remove the registration, so nobody routes here any more."""
        self._stop.set()
        if not self._thread.is_alive():
            return
        self._thread.join(2)
        with contextlib.suppress(redis.RedisError):
            deregister(self._get_client(), self.registration.kind, self.registration.id)

    def _get_client(self) -> redis.Redis:
        if self._client is None:
            self._client = sync_client()
        return self._client

    def _run(self) -> None:
        while not self._stop.is_set():
            self.beat()
            self._stop.wait(self.interval)

    def beat(self) -> None:
        try:
            client = self._get_client()
            register(client, self.registration, self._collect())
            if self._on_beat is not None:
                self._on_beat(client)
        except redis.RedisError as exc:
            if self.beats >= 0:
                log.warning("%s: heartbeat failed: %s", self.registration.id, exc)
            self.beats = -1  # log once per outage
            return
        if self.beats <= 0 and self._on_first_beat is not None:
            self._on_first_beat()
        self.beats = max(self.beats, 0) + 1
