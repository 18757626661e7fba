"""RestartPolicy: exponential backoff over quick crashes, giving up after too many."""

from archviz.lab.backoff import RestartDecision, RestartPolicy


def _crash_repeatedly(policy: RestartPolicy, times: int) -> list[RestartDecision]:
    decisions: list[RestartDecision] = []
    crashes = 0
    for _ in range(times):
        decision = policy.after_exit(crashes, uptime_s=0.1)
        decisions.append(decision)
        crashes = decision.crashes
    return decisions


def test_quick_crashes_double_the_delay_from_half_a_second():
    """Consecutive quick crashes wait 0.5, 1, 2, 4 then 8 seconds."""
    decisions = _crash_repeatedly(RestartPolicy(), 5)
    assert [d.delay_s for d in decisions] == [0.5, 1.0, 2.0, 4.0, 8.0]
    assert [d.crashes for d in decisions] == [1, 2, 3, 4, 5]


def test_delay_is_capped_at_max_delay():
    """With more crashes allowed, the delay stops growing at max_delay_s."""
    decisions = _crash_repeatedly(RestartPolicy(max_crashes=8), 8)
    assert [d.delay_s for d in decisions] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0, 8.0]


def test_gives_up_after_max_crashes_quick_crashes():
    """The crash after max_crashes gets no delay: the supervisor gives up."""
    decisions = _crash_repeatedly(RestartPolicy(max_crashes=5), 6)
    assert decisions[4].delay_s == 8.0
    assert decisions[5] == RestartDecision(crashes=6, delay_s=None)


def test_stable_run_resets_crash_count_to_one():
    """A process that ran at least stable_after_s counts its next crash as the first."""
    policy = RestartPolicy(stable_after_s=10.0)
    assert policy.after_exit(4, uptime_s=10.0) == RestartDecision(crashes=1, delay_s=0.5)
    assert policy.after_exit(99, uptime_s=60.0) == RestartDecision(crashes=1, delay_s=0.5)


def test_run_just_short_of_stable_still_counts_as_quick_crash():
    """An uptime below stable_after_s keeps counting crashes."""
    policy = RestartPolicy(stable_after_s=10.0)
    assert policy.after_exit(2, uptime_s=9.99) == RestartDecision(crashes=3, delay_s=2.0)
