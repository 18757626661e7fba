"""Backend health: active checks, passive ejection, and the table that tracks every backend."""

import pytest

from archviz.balancer.health import BackendHealth, HealthPolicy, HealthTable, Transition


def _down(health: BackendHealth, now: float = 0.0) -> None:
    for _ in range(health.policy.unhealthy_after):
        health.record_check(False, now)
    assert health.state == "unhealthy"


def test_new_backend_takes_traffic_before_any_check():
    """A backend nobody has checked yet is "unknown" but available at once."""
    health = BackendHealth("node-1")
    assert health.state == "unknown"
    assert health.is_available(now=0.0)
    assert health.describe() == "new: no checks yet, taking traffic"


def test_first_passed_check_confirms_a_new_backend():
    """One passed check turns "unknown" into "healthy", reported as a transition."""
    change = BackendHealth("node-1").record_check(True, now=1.0)
    assert change == Transition("node-1", "unknown", "healthy", "its first check passed")


def test_unhealthy_after_exactly_three_failed_checks():
    """Two failures leave the backend in rotation; the third takes it out."""
    health = BackendHealth("node-1")
    health.record_check(True, now=0.0)
    assert health.record_check(False, now=1.0) is None
    assert health.record_check(False, now=2.0) is None
    assert health.is_available(now=2.0)
    assert health.describe() == "up, but 2 failed checks in a row"
    change = health.record_check(False, now=3.0)
    assert change == Transition("node-1", "healthy", "unhealthy", "3 failed checks in a row")
    assert not health.is_available(now=3.0)
    assert health.describe() == "down: 3 failed checks in a row"


def test_a_new_backend_that_never_passes_goes_down_after_three_failures():
    """An "unknown" backend follows the same threshold as a healthy one."""
    health = BackendHealth("node-1")
    changes = [health.record_check(False, now=float(t)) for t in range(3)]
    assert changes[:2] == [None, None]
    assert changes[2] == Transition("node-1", "unknown", "unhealthy", "3 failed checks in a row")


def test_a_passed_check_resets_the_failure_count():
    """Failures must be consecutive: a pass in between starts the count again."""
    health = BackendHealth("node-1")
    for ok in (False, False, True, False, False):
        health.record_check(ok, now=0.0)
    assert health.is_available(now=0.0)


def test_healthy_again_after_exactly_two_passed_checks():
    """A down backend needs two passes in a row to come back."""
    health = BackendHealth("node-1")
    _down(health)
    assert health.record_check(True, now=4.0) is None
    assert not health.is_available(now=4.0)
    assert health.describe() == "down: 1 of 2 passed checks needed to come back"
    change = health.record_check(True, now=5.0)
    assert change == Transition("node-1", "unhealthy", "healthy", "2 passed checks in a row")
    assert health.is_available(now=5.0)
    assert health.describe() == "up"


def test_transitions_are_reported_once():
    """Further failures of a down backend, or passes of an up one, report nothing."""
    health = BackendHealth("node-1")
    changes = [health.record_check(False, now=float(t)) for t in range(6)]
    assert sum(change is not None for change in changes) == 1
    changes = [health.record_check(True, now=float(t)) for t in range(6, 12)]
    assert sum(change is not None for change in changes) == 1


def test_connection_failure_ejects_at_once_then_returns_after_eject_for_s():
    """Passive ejection: out immediately, back by itself when eject_for_s has passed."""
    health = BackendHealth("node-1", HealthPolicy(eject_for_s=5.0))
    change = health.record_connect_failure(now=10.0)
    assert change == Transition(
        "node-1", "unknown", "ejected", "a connection failed: out of rotation for 5.0 s"
    )
    assert not health.is_available(now=14.9)
    assert health.describe(now=10.8) == "ejected for 4.2 s after a connection failure"
    assert health.describe() == "ejected for 5.0 s after a connection failure"
    assert health.is_available(now=15.0)
    assert health.expire(now=15.0) == Transition(
        "node-1", "ejected", "healthy", "its 5.0 s ejection is over"
    )
    assert health.expire(now=16.0) is None


def test_passed_checks_do_not_shorten_an_ejection():
    """An ejection lasts its full time even if active checks pass meanwhile."""
    health = BackendHealth("node-1")
    health.record_connect_failure(now=0.0)
    assert health.record_check(True, now=1.0) is None
    assert health.record_check(True, now=2.0) is None
    assert not health.is_available(now=2.0)


def test_a_check_after_the_ejection_ends_reports_the_return():
    """The first check after the ejection's end reports ejected -> healthy."""
    health = BackendHealth("node-1")
    health.record_connect_failure(now=0.0)
    change = health.record_check(True, now=6.0)
    assert change is not None
    assert (change.from_state, change.to_state) == ("ejected", "healthy")


def test_failed_checks_during_an_ejection_mark_it_down_for_good():
    """Three failed checks while ejected make it unhealthy: the ejection ending does not help."""
    health = BackendHealth("node-1")
    health.record_connect_failure(now=0.0)
    changes = [health.record_check(False, now=t) for t in (1.0, 2.0, 3.0)]
    assert changes[2] == Transition("node-1", "ejected", "unhealthy", "3 failed checks in a row")
    assert not health.is_available(now=60.0)
    assert health.expire(now=60.0) is None


def test_connection_failure_of_a_down_backend_changes_nothing():
    """A backend already down by checks stays down, with no ejection reported."""
    health = BackendHealth("node-1")
    _down(health)
    assert health.record_connect_failure(now=5.0) is None
    assert health.state == "unhealthy"


def test_another_connection_failure_extends_the_ejection_without_a_new_report():
    """A second failure while ejected restarts the clock but is not a new transition."""
    health = BackendHealth("node-1", HealthPolicy(eject_for_s=5.0))
    health.record_connect_failure(now=0.0)
    assert health.record_connect_failure(now=3.0) is None
    assert not health.is_available(now=6.0)
    assert health.is_available(now=8.0)


def test_describe_after_an_ejection_ended_says_it_is_back():
    """Asked after the ejection's end, before anyone called expire, it reads as up."""
    health = BackendHealth("node-1")
    health.record_connect_failure(now=0.0)
    assert health.describe(now=5.0) == "up: back after an ejection"


def test_check_is_due_every_interval():
    """The first check is due at once, the next interval_s after the last."""
    health = BackendHealth("node-1", HealthPolicy(interval_s=1.0))
    assert health.check_due(now=0.0)
    health.record_check(True, now=0.0)
    assert not health.check_due(now=0.5)
    assert health.check_due(now=1.0)


@pytest.mark.parametrize("field", ["interval_s", "unhealthy_after", "healthy_after", "eject_for_s"])
def test_policy_rejects_values_that_are_not_positive(field):
    """A zero threshold or interval is a clear error naming the field."""
    with pytest.raises(ValueError, match=f"HealthPolicy.{field} must be positive"):
        HealthPolicy(**{field: 0})


def test_table_sync_adds_new_backends_and_forgets_gone_ones():
    """sync tracks exactly the given ids, keeping the state of those that stay."""
    table = HealthTable()
    table.sync(["node-1", "node-2"])
    _down(table["node-1"])
    table.sync(["node-1", "node-3"])
    assert [health.backend_id for health in table] == ["node-1", "node-3"]
    assert table["node-1"].state == "unhealthy"
    assert table["node-3"].state == "unknown"
    assert "node-2" not in table


def test_table_available_keeps_order_and_counts_untracked_ids_as_new():
    """Only backends that may take traffic are returned, in the order asked."""
    table = HealthTable()
    table.sync(["node-1", "node-2", "node-3"])
    _down(table["node-2"])
    table["node-3"].record_connect_failure(now=0.0)
    assert table.available(["node-4", "node-3", "node-2", "node-1"], now=1.0) == [
        "node-4",
        "node-1",
    ]
    assert table.available(["node-3", "node-1"], now=10.0) == ["node-3", "node-1"]


def test_table_tick_reports_each_ejection_end_once():
    """tick ends the ejections whose time is up and reports each return once."""
    table = HealthTable(HealthPolicy(eject_for_s=2.0))
    table.sync(["node-1", "node-2"])
    table["node-1"].record_connect_failure(now=0.0)
    table["node-2"].record_connect_failure(now=1.0)
    assert [change.backend_id for change in table.tick(now=2.5)] == ["node-1"]
    assert [change.backend_id for change in table.tick(now=3.0)] == ["node-2"]
    assert table.tick(now=9.0) == []


def test_table_due_lists_backends_whose_check_is_due():
    """Backends checked less than interval_s ago are not due."""
    table = HealthTable(HealthPolicy(interval_s=1.0))
    table.sync(["node-1", "node-2"])
    table["node-1"].record_check(True, now=10.0)
    assert table.due(now=10.5) == ["node-2"]
    assert table.due(now=11.0) == ["node-1", "node-2"]
