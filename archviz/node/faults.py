"""An instructor's faults inside a node's own process (issue 12): a real CPU hog and a real
memory balloon, each bounded in size and time and ending by itself.

- hog: a thread spinning in Python. It holds the GIL until the interpreter asks it to let
  go (every switch interval, 5 ms), so the node's event loop waits for the GIL at every
  wake-up (real loop lag) and the process really reads about 100 % of a core.
- balloon: anonymous memory mapped in chunks and every page written, so that it is resident
  (RSS rises by the asked size), unmapped at the end. mmap rather than a bytearray: a freed
  bytearray below glibc's (moving) mmap threshold can stay in the heap, and RSS would not
  come down.

At most one of each at a time: a second one while the first runs is refused with a reason
(an instructor who wants more waits for the end, which is at most a minute away).
"""

import logging
import mmap
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from archviz.core.node_commands import MAX_BALLOON_MB, MAX_BALLOON_S, MAX_HOG_S

log = logging.getLogger(__name__)

MIB = 1024 * 1024
CHUNK_BYTES = 32 * MIB  # allocated one at a time, so the GIL is let go between them
PAGE_BYTES = mmap.PAGESIZE


class FaultRefused(ValueError):
    """A fault that cannot start now (or ever, out of its bounds); the message says why."""


@dataclass
class ActiveFault:
    kind: str  # "hog" | "balloon"
    until_ms: int  # unix ms at which it ends by itself
    seconds: int
    mb: int | None = None  # the balloon's size
    cpu_s: float | None = None  # the hog's CPU time, once it ended: what the machine gave it
    started_ms: int = field(default_factory=lambda: _now_ms())

    def as_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}


FaultEnded = Callable[[ActiveFault], None]


class Faults:
    """The node's running faults; `on_end` is called (from the fault's thread) as each ends."""

    def __init__(self, on_end: FaultEnded | None = None) -> None:
        self.on_end = on_end
        self._lock = threading.Lock()
        self._active: dict[str, ActiveFault] = {}
        self._stop = threading.Event()  # ends every fault at once (the node stops)
        self.balloon_bytes = 0  # resident now, for tests and the trace

    def hog(self, seconds: int) -> ActiveFault:
        """Spin one core for `seconds` (1..MAX_HOG_S) in this process."""
        _check("seconds", seconds, 1, MAX_HOG_S)
        fault = self._begin(ActiveFault("hog", _now_ms() + seconds * 1000, seconds))
        self._start_thread("fault-hog", self._spin, fault)
        return fault

    def balloon(self, mb: int, seconds: int) -> ActiveFault:
        """Hold `mb` (1..MAX_BALLOON_MB) MiB resident for `seconds` (1..MAX_BALLOON_S)."""
        _check("mb", mb, 1, MAX_BALLOON_MB)
        _check("seconds", seconds, 1, MAX_BALLOON_S)
        fault = self._begin(ActiveFault("balloon", _now_ms() + seconds * 1000, seconds, mb))
        self._start_thread("fault-balloon", self._inflate, fault)
        return fault

    def active(self) -> dict | None:
        """The fault running now (the latest started if both are), for extra.overload."""
        with self._lock:
            running = sorted(self._active.values(), key=lambda f: f.started_ms)
        return running[-1].as_dict() if running else None

    def stop(self) -> None:
        """End every fault now (the node is stopping)."""
        self._stop.set()

    # --- the faults' threads ------------------------------------------------------------

    def _begin(self, fault: ActiveFault) -> ActiveFault:
        with self._lock:
            running = self._active.get(fault.kind)
            if running is not None:
                left_s = max(0.0, (running.until_ms - _now_ms()) / 1000)
                raise FaultRefused(f"a {fault.kind} is already running for {left_s:.1f} s more")
            self._active[fault.kind] = fault
        return fault

    def _start_thread(self, name: str, target: Callable[[ActiveFault], None], fault) -> None:
        threading.Thread(target=self._run, args=(target, fault), name=name, daemon=True).start()

    def _run(self, target: Callable[[ActiveFault], None], fault: ActiveFault) -> None:
        try:
            target(fault)
        except Exception:  # a fault that fails ends; the node serves on
            log.exception("the %s fault failed", fault.kind)
        finally:
            with self._lock:
                self._active.pop(fault.kind, None)
            if self.on_end is not None:
                self.on_end(fault)

    def _spin(self, fault: ActiveFault) -> None:
        until, cpu_before = time.monotonic() + fault.seconds, time.thread_time()
        while time.monotonic() < until and not self._stop.is_set():
            _burn()
        fault.cpu_s = round(time.thread_time() - cpu_before, 3)

    def _inflate(self, fault: ActiveFault) -> None:
        chunks: list[mmap.mmap] = []
        try:
            left = fault.mb * MIB
            while left > 0 and not self._stop.is_set():
                chunk = mmap.mmap(-1, min(CHUNK_BYTES, left))
                chunk[::PAGE_BYTES] = b"\x01" * len(range(0, len(chunk), PAGE_BYTES))
                chunks.append(chunk)
                left -= len(chunk)
                self.balloon_bytes += len(chunk)
            self._stop.wait(max(0.0, (fault.until_ms - _now_ms()) / 1000))
        finally:
            for chunk in chunks:
                chunk.close()  # unmapped: the pages leave RSS at once
            self.balloon_bytes = 0


def _burn() -> None:
    """About a millisecond of pure-Python work: bytecode that holds the GIL while it runs."""
    total = 0
    for number in range(5000):
        total += number * number


def _check(name: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise FaultRefused(f"{name} must be a whole number from {low} to {high}, not {value!r}")


def _now_ms() -> int:
    return int(time.time() * 1000)
