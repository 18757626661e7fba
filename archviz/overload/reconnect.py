"""How one overload client comes back after its socket closed (issue 12), in pure code: the
caller passes the close code, the node's last message, the attempt and a `random.Random`.

A node refuses a handshake by accepting it, sending {"type": "overloaded", "retry_after_ms"}
and closing with 4013; it sheds an open client the same way with "shed" and 4014. Any other
end (the node died, the network, a close without a code) is a drop. Every one of them is
followed by a reconnect after the lab-wide policy's delay, with the node's hint (its
retry_after_ms) as a floor on the policy's window, as node/shedding.py decides: full jitter
spreads over the whole window, fixed and exponential come back at its end (a later herd), and
`immediate` is the naive client that ignores it.

The policy and its delay are archviz/core/reconnect.py's.
"""

import json
import random
from dataclasses import dataclass
from typing import Literal

from archviz.core import close_codes
from archviz.core.reconnect import ReconnectPolicy, reconnect_delay_ms

REFUSED = close_codes.OVERLOADED  # 4013: refused at the handshake
SHED = close_codes.SHED  # 4014: shed by a node over its shed threshold
MAX_HINT_MS = 60_000  # a node's retry_after_ms past this is waited only this long

Reason = Literal["refused", "shed", "dropped"]


@dataclass(frozen=True)
class Decision:
    """What a client does after a close: why it closed, and how long it waits first."""

    reason: Reason
    delay_ms: float
    hint_ms: float | None  # the node's retry_after_ms, when it gave one


def reason_of(code: int | None) -> Reason:
    """Why a socket closed, from its close code."""
    if code == REFUSED:
        return "refused"
    if code == SHED:
        return "shed"
    return "dropped"


def hint_ms(message: str | None) -> float | None:
    """The retry_after_ms of a node's overloaded/shed message; None for anything else."""
    try:
        found = json.loads(message) if message else None
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(found, dict) or found.get("type") not in ("overloaded", "shed"):
        return None
    hint = found.get("retry_after_ms")
    if isinstance(hint, bool) or not isinstance(hint, int | float) or not hint >= 0:
        return None
    return float(min(hint, MAX_HINT_MS))


def next_reconnect(
    code: int | None,
    last_message: str | None,
    attempt: int,
    policy: ReconnectPolicy,
    rng: random.Random,
) -> Decision:
    """After a close with `code`, the node's last message before it and `attempt` failures
    since the last hello: the reason and the wait (the policy's, over the node's window)."""
    reason = reason_of(code)
    hint = hint_ms(last_message) if reason != "dropped" else None
    return Decision(reason, reconnect_delay_ms(policy, attempt, rng, hint or 0.0), hint)
