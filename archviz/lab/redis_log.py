"""The embedded Redis's log, read as it is written: the one place Redis 6.2 says it closed a
client for its output buffer (INFO has no counter for it before Redis 7)."""

import logging
import threading
from typing import IO

log = logging.getLogger("archviz.redis")

# networking.c, closeClientOnOutputBufferLimitReached(), at LL_WARNING (6.2 and 7.x):
# "Client id=.. addr=.. ... scheduled to be closed ASAP for overcoming of output buffer limits."
OUTPUT_BUFFER_CLOSE = "for overcoming of output buffer limits"


def is_output_buffer_close(line: str) -> bool:
    return OUTPUT_BUFFER_CLOSE in line


def client_of(line: str) -> str:
    """The client's name and address from such a line, for a reader ("?" if absent)."""
    fields = dict(f.split("=", 1) for f in line.split() if "=" in f)
    name = fields.get("name") or "-"
    return f"{name} at {fields.get('addr', '?')}"


class RedisLogWatch:
    """Drains a redis-server's log pipe (it would block on a full one) in a thread, counting
    the output-buffer closes; other lines go to the debug log."""

    def __init__(self) -> None:
        self.output_buffer_closes = 0

    def follow(self, stream: IO[bytes]) -> threading.Thread:
        """Read `stream` until it ends (the server exited), in a daemon thread."""
        thread = threading.Thread(target=self._read, args=(stream,), daemon=True,
                                  name="redis-log")  # fmt: skip
        thread.start()
        return thread

    def _read(self, stream: IO[bytes]) -> None:
        with stream:
            for raw in stream:
                self.line(raw.decode(errors="replace").rstrip())

    def line(self, line: str) -> None:
        if not is_output_buffer_close(line):
            log.debug("%s", line)
            return
        log.warning("Redis closed %s: its output buffer passed the limit", client_of(line))
        self.output_buffer_closes += 1  # one reader at a time: one per server process
