"""The admission policies and the waiting room, as pure code: every verdict, timeout and
adaptation step."""

import pytest

from archviz.node.admission import (
    POLICIES,
    AimdLimit,
    CoDelAdaptiveLifo,
    Completion,
    ExpAverage,
    FixedLimit,
    GradientLimit,
    NoLimiter,
    UnknownPolicy,
    WaitingRoom,
    make_policy,
)


def fill(room: WaitingRoom, count: int, now: float = 0.0, first_id: int = 0) -> list[str]:
    return [room.arrive(first_id + i, now) for i in range(count)]


def test_fixed_starts_up_to_capacity_then_queues_twice_that_then_refuses():
    """HAProxy's maxconn and queue: 2 start, 4 wait, the 7th is refused."""
    room = WaitingRoom(FixedLimit(2))
    assert fill(room, 7) == ["start"] * 2 + ["wait"] * 4 + ["reject"]
    assert (room.in_flight, room.queued) == (2, 4)


def test_fixed_serves_the_queue_in_arrival_order_as_slots_free():
    """A finish lets the oldest waiter start."""
    room = WaitingRoom(FixedLimit(1))
    fill(room, 3)
    turns = room.finish(Completion(rtt_ms=10, in_flight=1), now_ms=10)
    assert [w.id for w in turns.started] == [1]
    assert room.in_flight == 1 and room.queued == 1


def test_fixed_times_out_a_waiter_after_its_queue_timeout():
    """`timeout queue`: a waiter still waiting after 1 s is expired, not started."""
    room = WaitingRoom(FixedLimit(1))
    fill(room, 2)
    assert room.next_deadline_ms(0) == FixedLimit.QUEUE_TIMEOUT_MS
    assert room.turns(999).expired == ()
    turns = room.turns(1000)
    assert [w.id for w in turns.expired] == [1] and turns.started == ()
    assert room.queued == 0 and room.next_deadline_ms(1000) is None


def test_a_new_arrival_waits_behind_the_queue_even_when_a_slot_is_free():
    """No overtaking: while others wait, a newcomer joins the queue."""
    room = WaitingRoom(FixedLimit(1))
    fill(room, 2)
    room.in_flight = 0  # a slot freed but turns() not yet run
    assert room.arrive(9, 1) == "wait"


def test_a_waiter_that_leaves_is_never_started():
    """A client gone before its turn gives its place up."""
    room = WaitingRoom(FixedLimit(1))
    fill(room, 3)
    room.leave(1, now_ms=5)
    turns = room.finish(Completion(10, 1), now_ms=10)
    assert [w.id for w in turns.started] == [2]


def test_no_limiter_queues_every_arrival_and_never_times_one_out():
    """The limiter off: capacity at once, everyone else waits, however long, in order."""
    room = WaitingRoom(NoLimiter(2))
    assert fill(room, 10_000) == ["start"] * 2 + ["wait"] * 9_998
    assert room.next_deadline_ms(0) is None  # no timer: nobody ever times out
    turns = room.finish(Completion(rtt_ms=10, in_flight=2), now_ms=3_600_000)
    assert [w.id for w in turns.started] == [2] and turns.expired == ()


def codel(capacity: int, rtt_ms: float = 0.0) -> CoDelAdaptiveLifo:
    """A CoDel policy that has seen round trips of rtt_ms (its warm-up is a plain mean)."""
    policy = CoDelAdaptiveLifo(capacity)
    for _ in range(10):
        policy.on_done(Completion(rtt_ms=rtt_ms, in_flight=1))
    return policy


def test_codel_allows_the_interval_until_the_queue_stands_then_only_the_target():
    """Fail at Scale, judged now: a waiter may wait the interval (50 ms) while the queue is
    young; once it has stood 50 ms every waiter gets the target (5 ms), the old ones too."""
    room = WaitingRoom(codel(2))
    fill(room, 2)
    room.arrive(2, 0)  # the queue starts standing at 0
    room.arrive(3, 48)
    assert room.deadline_ms(room._waiting[0], 10) == 50
    assert room.next_deadline_ms(10) == 50
    turns = room.turns(50)
    assert [w.id for w in turns.expired] == [2]  # waited 50 ms, over the 5 ms now allowed
    assert room.next_deadline_ms(50) == 53


def test_codel_measures_its_target_and_interval_from_the_round_trips():
    """Twice the time between two slots freeing (RTT / limit), at least 5 ms; the interval
    one round trip, at least 50 ms; a dropped request's round trip is not learnt from."""
    assert codel(4).target_ms() == 5 and codel(4).interval_ms() == 50
    lab_node = codel(4, rtt_ms=40)
    assert (lab_node.target_ms(), lab_node.interval_ms()) == (20, 50)
    slow_node = codel(4, rtt_ms=300)
    assert (slow_node.target_ms(), slow_node.interval_ms()) == (150, 300)
    lab_node.on_done(Completion(rtt_ms=5_000, in_flight=4, dropped=True))
    assert lab_node.describe() == {"target_ms": 20}


def test_codel_serves_a_standing_queue_newest_first_and_a_young_one_oldest_first():
    """Adaptive LIFO: FIFO while the queue is young, LIFO once it has stood its interval."""
    young = WaitingRoom(codel(1))
    fill(young, 3)
    assert [w.id for w in young.finish(Completion(5, 1), now_ms=20).started] == [1]

    standing = WaitingRoom(codel(2, rtt_ms=1000))  # target and interval 1,000 ms
    fill(standing, 3)  # 0 and 1 start, 2 waits from 0
    fill(standing, 2, now=1000, first_id=3)
    turns = standing.finish(Completion(1000, 2), now_ms=1000)
    assert [w.id for w in turns.expired] == [2]
    assert [w.id for w in turns.started] == [4]


def test_codel_queue_stands_until_the_node_catches_up():
    """Waiters timing out empty the queue but the node is no less behind: the queue still
    stands, and a new waiter gets the target. Once a slot is free with nobody waiting,
    the queue is young again and the next waiter gets the interval."""
    room = WaitingRoom(codel(1))
    fill(room, 2)
    assert [w.id for w in room.turns(50).expired] == [1]
    assert room.queued == 0 and room.standing_ms(60) == 60
    assert room.arrive(7, 60) == "wait"
    assert room.next_deadline_ms(60) == 65
    room.finish(Completion(5, 1), now_ms=62)  # 7 starts: the slot is busy again
    assert room.standing_ms(62) == 62
    room.finish(Completion(5, 1), now_ms=70)  # a free slot, nobody waiting: caught up
    assert room.standing_ms(70) == 0
    assert room.arrive(8, 80) == "start"
    assert room.arrive(9, 80) == "wait"
    assert room.next_deadline_ms(80) == 130


def test_aimd_grows_by_one_while_more_than_half_is_used():
    """Additive increase."""
    policy = AimdLimit(4)
    policy.on_done(Completion(rtt_ms=10, in_flight=2))
    assert policy.limit() == 5
    policy.on_done(Completion(rtt_ms=10, in_flight=1))  # app-limited: unchanged
    assert policy.limit() == 5


def test_aimd_cuts_by_a_tenth_on_a_drop_or_a_slow_round_trip_and_never_below_one():
    """Multiplicative decrease (at least one less), floored at 1."""
    policy = AimdLimit(20)
    policy.on_done(Completion(rtt_ms=10, in_flight=20, dropped=True))
    assert policy.limit() == 18
    policy.on_done(Completion(rtt_ms=AimdLimit.TIMEOUT_MS + 1, in_flight=1))
    assert policy.limit() == 16
    small = AimdLimit(1)
    small.on_done(Completion(rtt_ms=10, in_flight=1, dropped=True))
    assert small.limit() == 1


def test_aimd_never_grows_past_four_times_capacity():
    """A ceiling, so a fast node cannot take unbounded work."""
    policy = AimdLimit(2)
    for _ in range(50):
        policy.on_done(Completion(rtt_ms=1, in_flight=100))
    assert policy.limit() == 8


def test_aimd_and_gradient_queue_nothing():
    """Over the limit is a refusal at once, as in Netflix's limiters."""
    for cls in (AimdLimit, GradientLimit):
        room = WaitingRoom(cls(1))
        assert fill(room, 2) == ["start", "reject"]


def test_exp_average_is_a_plain_mean_during_warm_up_then_exponential():
    """Netflix's ExpAvgMeasurement."""
    average = ExpAverage(window=3, warmup=2)
    assert average.add(10) == 10
    assert average.add(20) == 15
    assert average.add(35) == pytest.approx(15 * 0.5 + 35 * 0.5)


def test_gradient_grows_by_its_queue_allowance_while_latency_holds():
    """At steady RTT the gradient is 1 and the limit creeps up by allowance x smoothing."""
    policy = GradientLimit(10)
    for _ in range(5):
        policy.on_done(Completion(rtt_ms=20, in_flight=policy.limit()))
    assert policy.limit() == 14  # 10 -> 10.8 -> 11.6 -> 12.4 -> 13.2 -> 14.0


def test_gradient_shrinks_when_latency_rises_and_never_by_more_than_half_a_step():
    """RTT four times the long-term average: the gradient is clamped at 0.5."""
    policy = GradientLimit(10)
    for _ in range(20):
        policy.on_done(Completion(rtt_ms=20, in_flight=policy.limit()))
    before = policy._estimate
    policy.on_done(Completion(rtt_ms=200, in_flight=policy.limit()))
    expected = before * 0.8 + (before * 0.5 + GradientLimit.QUEUE_ALLOWANCE) * 0.2
    assert policy._estimate == pytest.approx(expected, rel=0.01)
    assert policy._estimate < before


def test_gradient_ignores_round_trips_while_app_limited():
    """Fewer than half the limit in flight: the limit does not move."""
    policy = GradientLimit(10)
    policy.on_done(Completion(rtt_ms=500, in_flight=2))
    assert policy.limit() == 10


def test_gradient_pulls_its_long_rtt_down_after_overload():
    """A long RTT more than twice the latest is cut by a tenth at once."""
    policy = GradientLimit(10)
    for _ in range(12):
        policy.on_done(Completion(rtt_ms=100, in_flight=10))
    long_before = policy._long.value
    policy.on_done(Completion(rtt_ms=10, in_flight=10))
    assert policy.describe()["long_rtt_ms"] < long_before * 0.9 + 1
    assert policy.describe()["short_rtt_ms"] == 10


def test_gradient_stays_within_one_and_four_times_capacity():
    """Floor and ceiling."""
    policy = GradientLimit(2)
    for _ in range(200):
        policy.on_done(Completion(rtt_ms=5, in_flight=100))
    assert policy.limit() == 8
    for _ in range(200):
        policy.on_done(Completion(rtt_ms=5000 if _ % 2 else 5, in_flight=100))
    assert policy.limit() >= 1


def test_every_policy_is_chosen_by_name_and_an_unknown_name_is_refused():
    """Switchable live by name; a bad name names the choices."""
    assert sorted(POLICIES) == ["aimd", "codel", "fixed", "gradient", "none"]
    for name in POLICIES:
        assert make_policy(name, 3).name == name
    with pytest.raises(UnknownPolicy, match="aimd"):
        make_policy("lifo", 3)


def test_capacity_below_one_is_treated_as_one():
    """A misconfigured node still serves one at a time."""
    assert FixedLimit(0).limit() == 1
