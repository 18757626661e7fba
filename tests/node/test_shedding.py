"""Choosing whom to shed, and when shed clients come back (pure)."""

import random

import pytest

from archviz.node.shedding import (
    SHED_POLICIES,
    Client,
    UnknownPolicy,
    choose_shed,
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
