"""How a client comes back after a server closed it (issue 12): the lab-wide reconnect
policy, as an instructor sets it in Redis, and the delay it gives. Pure; the same for the
overload demo's bots, the benchmark's clients and (mirrored in
static/archviz/overload/reconnect.js) the learners' tabs.

Policies: at once, a fixed delay, exponential backoff, or exponential backoff with full
jitter (AWS Architecture Blog, "Exponential Backoff And Jitter", 2015): a random delay
between 0 and the exponential cap, which spreads a herd of clients shed together over the
whole window instead of bringing them back in waves. The server's hint (its
retry_after_ms) is a floor on the window: full jitter spreads over all of it, fixed and
exponential come back at its end (a later herd), `immediate` is the naive client that
ignores it.
"""

import random
from dataclasses import dataclass

POLICY_KEY = "archviz:overload:reconnect"  # hash {policy, base_ms, cap_ms}, set by an instructor
RECONNECT_POLICIES = ("immediate", "fixed", "exponential", "full_jitter")
MAX_BASE_MS = 60_000
MAX_CAP_MS = 120_000


class UnknownReconnectPolicy(ValueError):
    """No reconnect policy has that name."""


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
    """How long a client waits before its `attempt`-th reconnect (0 = the first), with the
    server's hint a floor on the policy's window (see the module's docstring)."""
    if policy.policy not in RECONNECT_POLICIES:
        raise UnknownReconnectPolicy(
            f"unknown reconnect policy {policy.policy!r}; use one of {RECONNECT_POLICIES}"
        )
    if policy.policy == "immediate":
        return 0.0
    if policy.policy == "fixed":
        return max(policy.base_ms, hint_ms)
    ceiling = min(policy.cap_ms, policy.base_ms * policy.factor ** max(0, attempt))
    window = max(ceiling, hint_ms)
    return window if policy.policy == "exponential" else rng.uniform(0, window)
