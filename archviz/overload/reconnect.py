"""How one overload client comes back after its socket closed (issue 12), in pure code: the
caller passes the close code, the node's last message, the attempt and a `random.Random`.

A node refuses a handshake by accepting it, sending {"type": "overloaded", "retry_after_ms"}
and closing with 4013; it sheds an open client the same way with "shed" and 4014. Any other
end (the node died, the network, a close without a code) is a drop. Every one of them is
followed by a reconnect after the lab-wide policy's delay, with the node's hint (its
retry_after_ms) as a floor on the policy's window, as node/shedding.py decides: full jitter
spreads over the whole window, fixed and exponential come back at its end (a later herd), and
`immediate` is the naive client that ignores it.

The delay itself is archviz/node/shedding.py's reconnect_delay_ms, copied here because a demo
imports no other demo (tests/test_layout.py); tests/overload/test_clients_reconnect.py proves
the two agree on every policy, so that neither can drift. They belong in core/ together.
"""

import json
import random
from dataclasses import dataclass
from typing import Literal

from archviz.core import close_codes

REFUSED = close_codes.OVERLOADED  # 4013: refused at the handshake
SHED = 4014  # close_codes.SHED once the node's side of issue 12 lands
POLICY_KEY = "archviz:overload:reconnect"  # hash {policy, base_ms, cap_ms}, set by an instructor
RECONNECT_POLICIES = ("immediate", "fixed", "exponential", "full_jitter")
MAX_BASE_MS = 60_000
MAX_CAP_MS = 120_000
MAX_HINT_MS = 60_000  # a node's retry_after_ms past this is waited only this long

Reason = Literal["refused", "shed", "dropped"]


@dataclass(frozen=True)
class ReconnectPolicy:
    """The lab-wide reconnect policy in force: its name and its numbers."""

    policy: str = "full_jitter"
    base_ms: float = 250.0
    cap_ms: float = 8000.0
    factor: float = 2.0

    def as_dict(self) -> dict[str, float | str]:
        return {"policy": self.policy, "base_ms": self.base_ms, "cap_ms": self.cap_ms}


DEFAULT_POLICY = ReconnectPolicy()


@dataclass(frozen=True)
class Decision:
    """What a client does after a close: why it closed, and how long it waits first."""

    reason: Reason
    delay_ms: float
    hint_ms: float | None  # the node's retry_after_ms, when it gave one


def parse_policy(raw: dict[bytes, bytes] | dict[str, str]) -> tuple[ReconnectPolicy, str]:
    """The policy of the Redis hash, and what was wrong with it ("" when nothing): a bad field
    falls back to its default, so that one typo does not stop every client reconnecting."""
    fields = {_text(k): _text(v) for k, v in raw.items()}
    problems = []
    policy = fields.get("policy", DEFAULT_POLICY.policy)
    if policy not in RECONNECT_POLICIES:
        problems.append(f"policy {policy!r} is not one of {', '.join(RECONNECT_POLICIES)}")
        policy = DEFAULT_POLICY.policy
    base = _number(fields, "base_ms", DEFAULT_POLICY.base_ms, 0, MAX_BASE_MS, problems)
    cap = _number(fields, "cap_ms", DEFAULT_POLICY.cap_ms, 0, MAX_CAP_MS, problems)
    if cap < base:
        problems.append(f"cap_ms {cap:g} is below base_ms {base:g}: using base_ms")
        cap = base
    return ReconnectPolicy(policy, base, cap), "; ".join(problems)


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _number(fields: dict[str, str], name: str, default: float, low: float, high: float,
            problems: list[str]) -> float:  # fmt: skip
    if name not in fields:
        return default
    try:
        value = float(fields[name])
    except ValueError:
        value = float("nan")
    if not low <= value <= high:  # NaN fails too
        problems.append(f"{name} {fields[name]!r} is not a number from {low:g} to {high:g}")
        return default
    return value


def reconnect_delay_ms(
    policy: ReconnectPolicy, attempt: int, rng: random.Random, hint_ms: float = 0.0
) -> float:
    """How long a client waits before its `attempt`-th reconnect (0 = the first), the node's
    hint a floor on the window: the copy of node/shedding.py's (see the module's docstring)."""
    if policy.policy not in RECONNECT_POLICIES:
        raise ValueError(f"unknown reconnect policy {policy.policy!r}")
    if policy.policy == "immediate":
        return 0.0
    if policy.policy == "fixed":
        return max(policy.base_ms, hint_ms)
    ceiling = min(policy.cap_ms, policy.base_ms * policy.factor ** max(0, attempt))
    window = max(ceiling, hint_ms)
    return window if policy.policy == "exponential" else rng.uniform(0, window)


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
