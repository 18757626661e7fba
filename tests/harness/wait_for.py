"""The one way tests wait: poll until a condition holds, or fail at a deadline saying what
never happened and what was seen last. Never a sleep that hopes."""

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")
INTERVAL_S = 0.05
SHOWN_CHARS = 2000  # of the last value, in the failure message


class WaitTimeout(AssertionError):
    """The condition never held before the deadline."""


def wait_for(
    read: Callable[[], T],
    what: str,
    timeout: float = 10.0,
    *,
    until: Callable[[T], object] = bool,
    explain: Callable[[], str] | None = None,
    interval: float = INTERVAL_S,
) -> T:
    """Call `read` until `until(value)` holds (by default: the value is truthy); return that
    value. At the deadline, fail naming `what`, the last value and `explain()` if given.
    An exception from `read` ends the wait at once (say, a process that exited)."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if until(value):
            return value
        if time.monotonic() >= deadline:
            raise _timeout(what, timeout, value, explain)
        time.sleep(interval)


async def async_wait_for(
    read: Callable[[], T | Awaitable[T]],
    what: str,
    timeout: float = 10.0,
    *,
    until: Callable[[T], object] = bool,
    explain: Callable[[], str] | None = None,
    interval: float = INTERVAL_S,
) -> T:
    """wait_for without blocking the event loop; `read` may be a coroutine function."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if inspect.isawaitable(value):
            value = await value
        if until(value):
            return value
        if time.monotonic() >= deadline:
            raise _timeout(what, timeout, value, explain)
        await asyncio.sleep(interval)


def _timeout(what: str, timeout: float, last: Any, explain: Callable[[], str] | None):
    shown = repr(last)
    if len(shown) > SHOWN_CHARS:
        shown = shown[:SHOWN_CHARS] + "…"
    message = f"timed out after {timeout} s waiting for {what}; last seen: {shown}"
    if explain is not None:
        message += "\n" + explain()
    return WaitTimeout(message)
