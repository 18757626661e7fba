"""The reconnect policy and its delays (pure): archviz/core/reconnect.py."""

import random
import statistics

import pytest

from archviz.core.reconnect import (
    DEFAULT_POLICY,
    RECONNECT_POLICIES,
    ReconnectPolicy,
    UnknownReconnectPolicy,
    parse_policy,
    reconnect_delay_ms,
)

JITTER = ReconnectPolicy("full_jitter")


def test_immediate_and_fixed_delays_do_not_grow():
    rng = random.Random(1)
    assert [reconnect_delay_ms(ReconnectPolicy("immediate"), a, rng) for a in range(3)] == [0, 0, 0]
    assert [reconnect_delay_ms(ReconnectPolicy("fixed"), a, rng) for a in range(3)] == [
        250,
        250,
        250,
    ]


def test_exponential_doubles_up_to_its_cap():
    rng = random.Random(1)
    delays = [
        reconnect_delay_ms(ReconnectPolicy("exponential", 100, 1000), a, rng) for a in range(6)
    ]
    assert delays == [100, 200, 400, 800, 1000, 1000]


def test_full_jitter_spreads_delays_over_the_whole_window_up_to_the_cap():
    """Uniform on [0, cap): a herd's mean lands near the middle, none past the ceiling."""
    rng = random.Random(5)
    delays = [
        reconnect_delay_ms(ReconnectPolicy("full_jitter", 100, 10_000), 3, rng) for _ in range(2000)
    ]
    assert 0 <= min(delays) < 40 and max(delays) <= 800
    assert statistics.mean(delays) == pytest.approx(400, rel=0.1)


def test_the_servers_hint_widens_a_jittered_window_and_delays_the_others_to_its_end():
    """A shed node asks for a spread over 4 s: jitter spreads over all of it, fixed and
    exponential all come back at its end (a later herd), immediate ignores it."""
    rng = random.Random(7)
    spread = [reconnect_delay_ms(JITTER, 0, rng, hint_ms=4000) for _ in range(2000)]
    assert 0 <= min(spread) < 50 and 3950 < max(spread) <= 4000
    assert statistics.mean(spread) == pytest.approx(2000, rel=0.1)
    assert reconnect_delay_ms(ReconnectPolicy("fixed"), 0, rng, hint_ms=4000) == 4000
    assert reconnect_delay_ms(ReconnectPolicy("exponential"), 0, rng, hint_ms=4000) == 4000
    assert (
        reconnect_delay_ms(ReconnectPolicy("exponential"), 6, rng, hint_ms=4000) == 8000
    )  # past the hint
    assert reconnect_delay_ms(ReconnectPolicy("immediate"), 0, rng, hint_ms=4000) == 0


def test_an_unknown_reconnect_policy_names_the_choices():
    assert RECONNECT_POLICIES == ("immediate", "fixed", "exponential", "full_jitter")
    with pytest.raises(UnknownReconnectPolicy, match="full_jitter"):
        reconnect_delay_ms(ReconnectPolicy("linear"), 0, random.Random())


def test_no_hash_is_the_default_policy() -> None:
    """No instructor has chosen: full jitter, 250 ms, capped at 8 s."""
    assert parse_policy({}) == (DEFAULT_POLICY, "")
    assert DEFAULT_POLICY.as_dict() == {"policy": "full_jitter", "base_ms": 250, "cap_ms": 8000}


def test_a_stored_policy_is_read_from_bytes() -> None:
    """The hash as redis-py returns it (bytes) becomes the policy in force."""
    raw = {b"policy": b"exponential", b"base_ms": b"100", b"cap_ms": b"2000"}
    assert parse_policy(raw) == (ReconnectPolicy("exponential", 100, 2000), "")


@pytest.mark.parametrize(
    ("raw", "expected", "named"),
    [
        ({"policy": "yolo"}, DEFAULT_POLICY, "policy 'yolo'"),
        ({"policy": "fixed", "base_ms": "fast"}, ReconnectPolicy("fixed"), "base_ms 'fast'"),
        ({"base_ms": "-1"}, DEFAULT_POLICY, "base_ms '-1'"),
        ({"cap_ms": "nan"}, DEFAULT_POLICY, "cap_ms 'nan'"),
        ({"cap_ms": "1e9"}, DEFAULT_POLICY, "cap_ms '1e9'"),
        ({"base_ms": "500", "cap_ms": "100"}, ReconnectPolicy(base_ms=500, cap_ms=500), "cap_ms"),
    ],
)
def test_a_bad_field_falls_back_and_is_named(raw, expected, named: str) -> None:
    """A bad field takes its default (the others are kept) and the problem names it."""
    policy, problem = parse_policy(raw)
    assert policy == expected
    assert named in problem
