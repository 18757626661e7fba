"""When a node sheds and how many (ShedPlan, pure), and the refusal at the handshake."""

import pytest

from archviz.node.handshake import refusal
from archviz.node.runtime import NodeConfig
from archviz.node.shedder import CAP_WINDOW_MS, SHED_AFTER_MS, SHED_EVERY_S, ShedPlan

TICK_MS = SHED_EVERY_S * 1000


def _run(plan: ShedPlan, pressures: list[float], sockets: int, shed_above: float = 0.5):
    """Ticks every 200 ms from t=0; the sockets each batch leaves; the batches."""
    batches = []
    for n, pressure in enumerate(pressures):
        count = plan.batch(n * TICK_MS, pressure, shed_above, sockets)
        plan.record(n * TICK_MS, count)
        sockets -= count
        batches.append(count)
    return batches


def test_under_or_at_the_threshold_nothing_is_shed():
    """Strictly above: at the threshold, or under it, no batch and not shedding."""
    plan = ShedPlan()
    assert _run(plan, [0.5, 0.2, 0.5], sockets=100) == [0, 0, 0]
    assert not plan.shedding


def test_a_spike_shorter_than_shed_after_sheds_nothing():
    """Over for less than SHED_AFTER_MS, then under: no batch."""
    plan = ShedPlan()
    ticks_over = int(SHED_AFTER_MS // TICK_MS)  # 0, 200, 400 ms: not yet 500
    assert _run(plan, [0.9] * ticks_over + [0.3], sockets=100) == [0] * (ticks_over + 1)
    assert not plan.shedding


def test_over_for_shed_after_sheds_ten_percent_per_tick():
    """From 500 ms over, each tick sheds 10 % of what is open (at least one)."""
    plan = ShedPlan()
    batches = _run(plan, [0.9] * 6, sockets=100)
    assert batches == [0, 0, 0, 10, 9, 8]  # 600 ms is the first tick past 500
    assert plan.shedding


def test_back_under_stops_shedding_and_restarts_the_wait():
    """Under again ends the episode; a new one waits SHED_AFTER_MS again."""
    plan = ShedPlan()
    batches = _run(plan, [0.9, 0.9, 0.9, 0.9, 0.4, 0.9, 0.9, 0.9, 0.9], sockets=100)
    assert batches == [0, 0, 0, 10, 0, 0, 0, 0, 9]


def test_the_cap_sheds_at_most_half_in_five_seconds():
    """A hog that shedding cannot cure takes half the sockets, then the window must pass."""
    plan = ShedPlan()
    ticks = int(CAP_WINDOW_MS // TICK_MS)
    batches = _run(plan, [1.0] * ticks, sockets=100)
    assert sum(batches) == 50
    later = plan.batch(3 * TICK_MS + CAP_WINDOW_MS, 1.0, 0.5, 50)  # the first batch aged out
    assert later == 5  # 10 % of 50, within the budget again


def test_the_last_socket_is_shed_only_with_another():
    """Half of one is none: the cap never empties the node."""
    assert _run(ShedPlan(), [1.0] * 10, sockets=1) == [0] * 10
    assert sum(_run(ShedPlan(), [1.0] * 10, sockets=2)) == 1


def test_a_threshold_of_one_never_sheds():
    """shed_above 100 %: pressure is clamped to 1.0, and the test is strictly above."""
    assert _run(ShedPlan(), [1.0] * 10, sockets=100, shed_above=1.0) == [0] * 10


@pytest.mark.parametrize(
    ("pressure", "sockets", "why"),
    [
        (0.5, 10, "10 WebSockets open: the node's limit is 10"),
        (0.81, 3, "pressure 0.81 over the reject threshold 0.80"),
        (0.8, 9, None),
        (0.0, 0, None),
    ],
)
def test_a_handshake_is_refused_at_the_limit_or_over_the_threshold(pressure, sockets, why):
    """At ws_limit sockets, or strictly over reject_above, the node refuses, saying why."""
    assert refusal(pressure, sockets, NodeConfig(ws_limit=10, reject_above=80)) == why


def test_a_limit_of_one_socket_is_said_in_the_singular():
    assert refusal(0.0, 1, NodeConfig(ws_limit=1)) == "1 WebSocket open: the node's limit is 1"
