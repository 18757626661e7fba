"""How an overload client comes back after a close (archviz/overload/reconnect.py): pure."""

import json
import random

import pytest

from archviz.core.reconnect import ReconnectPolicy
from archviz.overload.reconnect import (
    MAX_HINT_MS,
    REFUSED,
    SHED,
    hint_ms,
    next_reconnect,
    reason_of,
)

FULL_JITTER = ReconnectPolicy("full_jitter", 250, 8000)
FIXED = ReconnectPolicy("fixed", 250, 8000)
IMMEDIATE = ReconnectPolicy("immediate", 250, 8000)


def _message(kind: str, retry_after_ms: object) -> str:
    return json.dumps({"type": kind, "node": "node-2", "retry_after_ms": retry_after_ms})


def test_the_reasons_follow_the_close_codes() -> None:
    """4013 is a refusal, 4014 a shed, anything else (none, 1000, 1006, 4029) a drop."""
    assert (REFUSED, SHED) == (4013, 4014)
    assert reason_of(4013) == "refused"
    assert reason_of(4014) == "shed"
    assert [reason_of(code) for code in (None, 1000, 1006, 4029)] == ["dropped"] * 4


def test_a_refusal_with_a_fixed_policy_waits_at_least_the_hint() -> None:
    """Refused with retry_after_ms 3000 and a fixed 250 ms policy: 3 s, not 250 ms."""
    decision = next_reconnect(REFUSED, _message("overloaded", 3000), 0, FIXED, random.Random(1))
    assert (decision.reason, decision.delay_ms, decision.hint_ms) == ("refused", 3000, 3000)


def test_an_immediate_client_ignores_the_hint() -> None:
    """`immediate` is the naive client of the lesson: it comes straight back, hint or not."""
    decision = next_reconnect(SHED, _message("shed", 3000), 4, IMMEDIATE, random.Random(1))
    assert (decision.reason, decision.delay_ms, decision.hint_ms) == ("shed", 0, 3000)


def test_full_jitter_spreads_a_batch_over_the_hints_window() -> None:
    """A batch shed together, all told 2000 ms at attempt 0 (ceiling 250): they come back
    spread over the whole 0-2000 ms window, not at one instant."""
    rng = random.Random(3)
    hint = _message("shed", 2000)
    delays = [next_reconnect(SHED, hint, 0, FULL_JITTER, rng).delay_ms for _ in range(500)]
    assert all(0 <= d <= 2000 for d in delays)
    assert max(delays) > 1800 and min(delays) < 200


def test_a_drop_ignores_a_stale_hint() -> None:
    """A hint seen before a close that is not 4013/4014 (say the node then died) is not used."""
    decision = next_reconnect(1006, _message("shed", 5000), 0, FIXED, random.Random(1))
    assert (decision.reason, decision.delay_ms, decision.hint_ms) == ("dropped", 250, None)


def test_full_jitter_stays_under_the_growing_ceiling() -> None:
    """Attempt n waits between 0 and min(cap, base * 2^n): 250, 500, ..., then 8000."""
    rng = random.Random(7)
    for attempt, ceiling in enumerate([250, 500, 1000, 2000, 4000, 8000, 8000, 8000]):
        decisions = [next_reconnect(None, None, attempt, FULL_JITTER, rng) for _ in range(200)]
        delays = [d.delay_ms for d in decisions]
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling * 0.8  # spread over the whole window, not bunched


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (_message("overloaded", 1500), 1500),
        (_message("shed", 0), 0),
        (_message("shed", 10**9), MAX_HINT_MS),  # a hint is bounded
        (_message("shed", -5), None),
        (_message("shed", "soon"), None),
        (_message("shed", True), None),
        (_message("hello", 1500), None),
        (json.dumps({"type": "shed"}), None),
        ("[1, 2]", None),
        ("not json", None),
        (None, None),
    ],
)
def test_only_an_overloaded_or_shed_message_gives_a_hint(message, expected) -> None:
    """The hint comes from the node's own message types, as a bounded number."""
    assert hint_ms(message) == expected
