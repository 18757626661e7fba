"""What a process measures of itself: memory (read with psutil) and its connections."""

import time
from collections import deque
from dataclasses import dataclass, field

import psutil

_process = psutil.Process()


def rss_bytes() -> int:
    """This process's resident memory."""
    try:
        return _process.memory_info().rss
    except psutil.Error:
        return 0


@dataclass
class ConnectionCounters:
    """Counters updated on the event loop and read by the heartbeat thread."""

    connections: int = 0  # open HTTP requests and WebSockets
    websockets: int = 0
    requests_total: int = 0  # a node's count leaves out /health checks (node/asgi.py)
    _samples: deque = field(default_factory=lambda: deque(maxlen=8))

    def requests_per_second(self) -> float:
        """Requests completed over roughly the last second."""
        now = time.monotonic()
        self._samples.append((now, self.requests_total))
        while len(self._samples) > 2 and now - self._samples[1][0] >= 1.0:
            self._samples.popleft()
        (t0, n0), (t1, n1) = self._samples[0], self._samples[-1]
        return round((n1 - n0) / (t1 - t0), 2) if t1 > t0 else 0.0
