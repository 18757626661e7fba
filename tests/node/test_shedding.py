"""Choosing whom to shed, and when shed clients come back (pure)."""

import random
import statistics

import pytest

from archviz.node.shedding import (
    RECONNECT_POLICIES,
    SHED_POLICIES,
    Backoff,
    Client,
    UnknownPolicy,
    choose_shed,
    reconnect_delay_ms,
    shed_count,
)

CLIENTS = [
    Client("teacher", 0, "instructor"),
    Client("ana", 10, "learner"),
    Client("bot-1", 20, "bot"),
    Client("tab-x", 30, "anonymous"),
    Client("bob", 40, "learner"),
    Client("bot-2", 50, "bot"),
    Client("late-teacher", 60, "instructor"),
]


def ids(chosen: list[Client]) -> list[str]:
    return [c.id for c in chosen]


def test_newest_first_sheds_the_latest_arrivals():
    assert ids(choose_shed(CLIENTS, 2, "newest", random.Random(1))) == ["bot-2", "bob"]


def test_oldest_first_sheds_the_longest_connected():
    assert ids(choose_shed(CLIENTS, 2, "oldest", random.Random(1))) == ["ana", "bot-1"]


def test_priority_sheds_bots_then_anonymous_tabs_then_learners():
    """Within a class the newest go first."""
    chosen = choose_shed(CLIENTS, 5, "priority", random.Random(1))
    assert ids(chosen) == ["bot-2", "bot-1", "tab-x", "bob", "ana"]


@pytest.mark.parametrize("policy", SHED_POLICIES)
def test_no_policy_ever_sheds_an_instructor_even_asked_for_everyone(policy):
    chosen = choose_shed(CLIENTS, 100, policy, random.Random(3))
    assert {c.role for c in chosen} <= {"learner", "anonymous", "bot"}
    assert len(chosen) == 5


def test_random_is_the_injected_generators_choice_and_varies_with_it():
    """Deterministic under a seed, different under another."""
    first = ids(choose_shed(CLIENTS, 3, "random", random.Random(7)))
    assert first == ids(choose_shed(CLIENTS, 3, "random", random.Random(7)))
    others = {tuple(ids(choose_shed(CLIENTS, 3, "random", random.Random(s)))) for s in range(20)}
    assert len(others) > 1


def test_an_unknown_shedding_policy_names_the_choices():
    with pytest.raises(UnknownPolicy, match="priority"):
        choose_shed(CLIENTS, 1, "youngest", random.Random())


@pytest.mark.parametrize(
    ("sockets", "fraction", "expected"),
    [(100, 0.3, 30), (10, 0.01, 1), (0, 0.5, 0), (7, 0, 0), (7, 1, 7), (3, 0.5, 2)],
)
def test_shed_count_takes_a_fraction_and_at_least_one(sockets, fraction, expected):
    assert shed_count(sockets, fraction) == expected


def test_a_fraction_out_of_range_is_refused():
    with pytest.raises(ValueError, match="from 0 to 1"):
        shed_count(10, 1.5)


def test_immediate_and_fixed_delays_do_not_grow():
    rng = random.Random(1)
    assert [reconnect_delay_ms("immediate", a, rng) for a in range(3)] == [0, 0, 0]
    assert [reconnect_delay_ms("fixed", a, rng) for a in range(3)] == [250, 250, 250]


def test_exponential_doubles_up_to_its_cap():
    rng = random.Random(1)
    delays = [reconnect_delay_ms("exponential", a, rng, Backoff(100, 1000)) for a in range(6)]
    assert delays == [100, 200, 400, 800, 1000, 1000]


def test_full_jitter_spreads_delays_over_the_whole_window_up_to_the_cap():
    """Uniform on [0, cap): a herd's mean lands near the middle, none past the ceiling."""
    rng = random.Random(5)
    delays = [reconnect_delay_ms("full_jitter", 3, rng, Backoff(100, 10_000)) for _ in range(2000)]
    assert 0 <= min(delays) < 40 and max(delays) <= 800
    assert statistics.mean(delays) == pytest.approx(400, rel=0.1)


def test_the_servers_hint_widens_a_jittered_window_and_delays_the_others_to_its_end():
    """A shed node asks for a spread over 4 s: jitter spreads over all of it, fixed and
    exponential all come back at its end (a later herd), immediate ignores it."""
    rng = random.Random(7)
    spread = [reconnect_delay_ms("full_jitter", 0, rng, hint_ms=4000) for _ in range(2000)]
    assert 0 <= min(spread) < 50 and 3950 < max(spread) <= 4000
    assert statistics.mean(spread) == pytest.approx(2000, rel=0.1)
    assert reconnect_delay_ms("fixed", 0, rng, hint_ms=4000) == 4000
    assert reconnect_delay_ms("exponential", 0, rng, hint_ms=4000) == 4000
    assert reconnect_delay_ms("exponential", 6, rng, hint_ms=4000) == 8000  # past the hint
    assert reconnect_delay_ms("immediate", 0, rng, hint_ms=4000) == 0


def test_an_unknown_reconnect_policy_names_the_choices():
    assert RECONNECT_POLICIES == ("immediate", "fixed", "exponential", "full_jitter")
    with pytest.raises(UnknownPolicy, match="full_jitter"):
        reconnect_delay_ms("linear", 0, random.Random())
