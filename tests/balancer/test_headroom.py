"""Headroom first: the pure filter of the nodes a request may go to (headroom.py)."""

import itertools

import pytest

from archviz.balancer.algorithms import Backend
from archviz.balancer.headroom import NOT_REPORTING, Pressure, with_headroom
from archviz.core.pressure_report import Report

ROOM = Pressure(0.2, 0.8, reporting=True)
OVER = Pressure(0.93, 0.8, reporting=True)
STATES = {"room": ROOM, "over": OVER, "silent": NOT_REPORTING, "absent": None}


def _backends(n: int) -> list[Backend]:
    return [Backend(f"node-{i}") for i in range(1, n + 1)]


@pytest.mark.parametrize(
    "states", [s for n in (1, 2, 3) for s in itertools.product(STATES, repeat=n)]
)
def test_every_mix_of_up_to_three_nodes(states: tuple[str, ...]) -> None:
    """Every mix of headroom, over, not reporting and no entry at all: the ones with
    headroom if any, in order, with a note naming each left out; else all of them, noted
    only when some node reported."""
    backends = _backends(len(states))
    given = {b.id: STATES[s] for b, s in zip(backends, states, strict=True) if STATES[s]}
    candidates, note = with_headroom(backends, given)
    room = [b for b, s in zip(backends, states, strict=True) if s == "room"]
    if room and len(room) < len(backends):
        assert candidates == room
        left_out = [b.id for b in backends if b not in room]
        assert all(node in note.split(":")[0] for node in left_out), note
    elif room:
        assert (candidates, note) == (backends, None)
    else:
        assert candidates == backends
        reported = any(s == "over" for s in states)
        assert (note is not None) is reported, note


def test_a_node_over_its_threshold_is_left_out_and_the_reason_says_so() -> None:
    """The contract's example: node-2 at 0.93 over 0.80, the other two have headroom."""
    backends = _backends(3)
    candidates, note = with_headroom(backends, {"node-1": ROOM, "node-2": OVER, "node-3": ROOM})
    assert [b.id for b in candidates] == ["node-1", "node-3"]
    assert note == "node-2 over its reject threshold (0.93 > 0.80): among node-1, node-3"


def test_one_node_left_with_headroom_is_named() -> None:
    """With one candidate left the note says that it has headroom."""
    backends = _backends(2)
    candidates, note = with_headroom(backends, {"node-1": ROOM, "node-2": NOT_REPORTING})
    assert candidates == [Backend("node-1")]
    assert note == "node-2 not reporting: node-1 has headroom"


def test_when_every_node_is_over_all_of_them_remain() -> None:
    """No headroom anywhere: the algorithm chooses among all, and the nodes refuse."""
    backends = _backends(2)
    candidates, note = with_headroom(backends, {"node-1": OVER, "node-2": NOT_REPORTING})
    assert candidates == backends
    assert note == "no node under its reject threshold: among all"


def test_with_no_report_at_all_nothing_changes() -> None:
    """Before any node reports (or with Redis away) the balancer works as it always did."""
    backends = _backends(3)
    assert with_headroom(backends, {}) == (backends, None)


def test_a_long_list_of_nodes_is_cut_short() -> None:
    """More than three nodes left out are named as "and N more", to keep the trace line short."""
    backends = _backends(6)
    pressures = {b.id: OVER for b in backends[:5]} | {"node-6": ROOM}
    _, note = with_headroom(backends, pressures)
    shown = "node-3 over its reject threshold (0.93 > 0.80) and 2 more"
    assert note.endswith(f"{shown}: node-6 has headroom"), note


@pytest.mark.parametrize(
    ("pressure", "headroom"),
    [
        (Pressure(0.8, 0.8, reporting=True), True),  # at the threshold: still takes work
        (Pressure(0.801, 0.8, reporting=True), False),
        (Pressure(1.0, 1.0, reporting=True), True),  # 100 %: never refuses
        (Pressure(0.0, 1.0, reporting=False), False),  # no report: no headroom, whatever
    ],
)
def test_headroom_is_strictly_above_and_needs_a_report(pressure: Pressure, headroom: bool) -> None:
    assert pressure.has_headroom() is headroom


def test_a_missing_report_is_pressure_one_not_reporting() -> None:
    """The contract: a registered node with no report counts as pressure 1.0."""
    assert Pressure.from_report(None) == NOT_REPORTING
    assert (NOT_REPORTING.value, NOT_REPORTING.reporting) == (1.0, False)
    report = Report(value=0.5, reject_above=0.7, shed_above=0.9, ts=1)
    assert Pressure.from_report(report) == Pressure(0.5, 0.7, reporting=True)
