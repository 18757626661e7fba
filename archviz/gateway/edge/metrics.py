"""What a gateway replica counts, for its heartbeat's metrics (updated on the event loop,
read by the heartbeat thread: it copies each dict in one step)."""

from dataclasses import dataclass, field
from typing import Any

from archviz.gateway.tokens import ERRORS

TOKEN_ERRORS = frozenset(ERRORS)


def _add(counts: dict[str, int], name: str, n: int = 1) -> None:
    counts[name] = counts.get(name, 0) + n


@dataclass
class EdgeCounts:
    """Requests by verdict ("ok", "401", ...), the gateway's own denials by status and the
    token errors behind its 401s, what reached each service, retries, and what is open."""

    requests: dict[str, int] = field(default_factory=dict)
    denied: dict[str, int] = field(default_factory=dict)
    token_errors: dict[str, int] = field(default_factory=dict)
    reached: dict[str, int] = field(default_factory=dict)  # service -> attempts sent to it
    retries: int = 0
    limiter_errors: int = 0  # the bucket could not be read: let through (fail open)
    closes: dict[str, int] = field(default_factory=dict)  # sockets the gateway closed, by code
    in_flight: int = 0
    total: int = 0

    def answered(self, verdict: str, *, denied: bool, error: str = "") -> None:
        """One request done: its verdict, whether the gateway refused it itself, and the
        token's error code if that was why."""
        self.total += 1
        _add(self.requests, verdict)
        if denied:
            _add(self.denied, verdict)
        if error:
            _add(self.token_errors, error)

    def closed(self, code: int, error: str) -> None:
        """A socket closed by the gateway, with its code (and the token's error, if one)."""
        _add(self.closes, str(code))
        if error in TOKEN_ERRORS:
            _add(self.token_errors, error)

    def sent(self, service: str) -> None:
        _add(self.reached, service)

    def snapshot(self, websockets: int, subscriptions: dict[str, int]) -> dict[str, Any]:
        """The metrics' `extra`: `{"websockets", "subscriptions": {auction: refs},
        "requests", "denied", ...}`."""
        return {
            "websockets": websockets,
            "subscriptions": dict(subscriptions),
            "requests": dict(self.requests),
            "denied": dict(self.denied),
            "token_errors": dict(self.token_errors),
            "reached": dict(self.reached),
            "closes": dict(self.closes),
            "retries": self.retries,
            "limiter_errors": self.limiter_errors,
        }
