"""Load-balancing strategies: fair spreading, stable hashing, and coping with a changing set."""

import itertools
import math
import os
import random
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence

import pytest

from archviz.balancer.algorithms import (
    NAMES,
    Backend,
    BackendStats,
    Balancer,
    ConsistentHash,
    EwmaTracker,
    NoBackend,
    UnknownAlgorithm,
    make_balancer,
)

THREE = [Backend("node-1"), Backend("node-2"), Backend("node-3")]
WEIGHTED = [Backend("node-1", 5), Backend("node-2", 3), Backend("node-3", 2)]


def _ids(balancer: Balancer, backends: Sequence[Backend], times: int, **kwargs) -> list[str]:
    return [balancer.pick(backends, **kwargs).backend_id for _ in range(times)]


def _longest_run(ids: list[str], backend_id: str) -> int:
    return max(len(list(run)) for who, run in itertools.groupby(ids) if who == backend_id)


def _random_stats(rng: random.Random, backends: Sequence[Backend]) -> dict[str, BackendStats]:
    return {
        b.id: BackendStats(
            in_flight=rng.randrange(6),
            ewma_ms=rng.choice([0.0, 1.5, 4.0, 20.0]),
            connections=rng.randrange(6),
        )
        for b in backends
    }


def test_names_list_every_strategy():
    """NAMES is the registry's vocabulary, in a fixed order."""
    assert NAMES == (
        "round_robin",
        "weighted_round_robin",
        "least_connections",
        "least_latency",
        "random",
        "power_of_two",
        "consistent_hash",
    )


def test_make_balancer_with_unknown_name_raises_naming_the_valid_choices():
    """A typo in the algorithm name is a ValueError that lists every valid name."""
    with pytest.raises(UnknownAlgorithm) as raised:
        make_balancer("round_robbin")
    assert isinstance(raised.value, ValueError)
    assert "'round_robbin'" in str(raised.value)
    assert all(name in str(raised.value) for name in NAMES)


def test_make_balancer_passes_options_to_the_strategy():
    """Options such as replicas and rng reach the constructor."""
    balancer = make_balancer("consistent_hash", replicas=7, rng=random.Random(1))
    assert isinstance(balancer, ConsistentHash)
    assert balancer.replicas == 7


@pytest.mark.parametrize("name", NAMES)
def test_empty_backend_list_raises_no_backend(name):
    """With no healthy backend, every strategy raises NoBackend (a LookupError)."""
    with pytest.raises(NoBackend, match="no healthy backend"):
        make_balancer(name).pick([], key="10.0.0.7")
    assert issubclass(NoBackend, LookupError)


def test_backend_rejects_a_weight_below_one():
    """A weight of 0 is a clear error, not a silently starved node."""
    with pytest.raises(ValueError, match="weight must be at least 1"):
        Backend("node-1", 0)


def test_round_robin_spreads_1000_requests_within_one_of_each_other():
    """Over 1,000 requests no node gets more than one request more than another."""
    counts = Counter(_ids(make_balancer("round_robin"), THREE, 1000))
    assert set(counts) == {"node-1", "node-2", "node-3"}
    assert max(counts.values()) - min(counts.values()) <= 1


def test_round_robin_goes_in_order_and_says_who_was_before():
    """Picks follow the list order and the reason names the previous pick."""
    balancer = make_balancer("round_robin")
    first, second = balancer.pick(THREE), balancer.pick(THREE)
    assert first.reason == "round robin: starting with node-1"
    assert second.backend_id == "node-2"
    assert second.reason == "round robin: node-2 is next in turn after node-1"


def test_round_robin_continues_with_the_node_after_a_removed_one():
    """Removing the last pick hands the turn to the node that followed it."""
    balancer = make_balancer("round_robin")
    assert _ids(balancer, THREE, 2) == ["node-1", "node-2"]
    after = balancer.pick([THREE[0], THREE[2]])
    assert after.backend_id == "node-3"
    assert after.reason.endswith("after node-2 (gone)")


def test_smooth_weighted_proportions_are_within_one_percent_over_10000_picks():
    """Weights 5, 3, 2 give 50 %, 30 % and 20 % of 10,000 picks, within 1 %."""
    counts = Counter(_ids(make_balancer("weighted_round_robin"), WEIGHTED, 10_000))
    for backend in WEIGHTED:
        assert abs(counts[backend.id] / 10_000 - backend.weight / 10) <= 0.01


def test_smooth_weighted_never_runs_a_node_more_than_twice_for_weights_5_3_2():
    """Smooth: the weight-5 node never gets more than 2 in a row (plain WRR gives it 5)."""
    ids = _ids(make_balancer("weighted_round_robin"), WEIGHTED, 1000)
    assert _longest_run(ids, "node-1") <= 2
    assert _longest_run(ids, "node-2") == 1
    assert _longest_run(ids, "node-3") == 1


@pytest.mark.parametrize("seed", range(5))
def test_smooth_weighted_gives_each_node_its_weight_in_every_window_of_the_total(seed):
    """Any run of total-weight consecutive picks holds each node exactly its weight."""
    rng = random.Random(seed)
    backends = [Backend(f"node-{i}", rng.randint(1, 9)) for i in range(rng.randint(2, 6))]
    total = sum(b.weight for b in backends)
    ids = _ids(make_balancer("weighted_round_robin"), backends, total * 20)
    for start in range(len(ids) - total + 1):
        window = Counter(ids[start : start + total])
        assert all(window[b.id] == b.weight for b in backends)


def test_smooth_weighted_reason_gives_the_weight_share():
    """The reason says how much of the total weight the chosen node has."""
    pick = make_balancer("weighted_round_robin").pick(WEIGHTED)
    assert pick.reason == "weighted: node-1 has weight 5 of 10"


def test_smooth_weighted_picks_a_new_node_within_one_cycle_and_gives_it_its_share():
    """A node added mid-stream is not starved: picked within a cycle, then at its weight."""
    balancer = make_balancer("weighted_round_robin")
    _ids(balancer, WEIGHTED, 17)
    grown = [*WEIGHTED, Backend("node-4", 1)]
    assert "node-4" in _ids(balancer, grown, 11)
    assert Counter(_ids(balancer, grown, 1100))["node-4"] == 100


def test_least_connections_always_picks_a_minimum_load():
    """Over many random loads the pick has the fewest in-flight requests plus websockets."""
    rng = random.Random(7)
    balancer = make_balancer("least_connections")
    for _ in range(2000):
        stats = _random_stats(rng, THREE)
        load = {i: s.in_flight + s.connections for i, s in stats.items()}
        assert load[balancer.pick(THREE, stats=stats).backend_id] == min(load.values())


def test_least_connections_spreads_ties_round_robin():
    """Idle backends with equal load take turns instead of one taking everything."""
    ids = _ids(make_balancer("least_connections"), THREE, 6)
    assert ids == ["node-1", "node-2", "node-3"] * 2


def test_least_connections_reason_lists_each_count():
    """The reason names the pick's load first, then the others from least to most."""
    stats = {
        "node-1": BackendStats(in_flight=1, connections=3),
        "node-2": BackendStats(connections=1),
        "node-3": BackendStats(in_flight=2),
    }
    pick = make_balancer("least_connections").pick(THREE, stats=stats)
    assert pick.backend_id == "node-2"
    assert pick.reason == "least connections: node-2 had 1, node-3 had 2, node-1 had 4"


def test_least_latency_prefers_the_lowest_ewma_times_queue():
    """A fast node with a queue can lose to a slower idle one: ewma * (in_flight + 1) wins."""
    stats = {
        "node-1": BackendStats(ewma_ms=10.0),
        "node-2": BackendStats(ewma_ms=2.0, in_flight=9),
        "node-3": BackendStats(ewma_ms=4.1),
    }
    pick = make_balancer("least_latency").pick(THREE, stats=stats)
    assert pick.backend_id == "node-3"
    assert pick.reason == "peak EWMA: node-3 expected 4.1 ms (lowest), next node-1 at 10.0 ms"


def test_least_latency_always_picks_a_minimum_expected_wait():
    """Over many random stats the pick minimises (ewma or 1 ms) * (in_flight + 1)."""
    rng = random.Random(11)
    balancer = make_balancer("least_latency")
    for _ in range(2000):
        stats = _random_stats(rng, THREE)
        cost = {i: (s.ewma_ms or 1.0) * (s.in_flight + 1) for i, s in stats.items()}
        assert cost[balancer.pick(THREE, stats=stats).backend_id] == min(cost.values())


def test_least_latency_tries_an_unmeasured_backend():
    """A backend with no latency yet gets a small default, so it receives traffic."""
    stats = {"node-1": BackendStats(ewma_ms=5.0), "node-2": BackendStats(ewma_ms=3.0)}
    assert make_balancer("least_latency").pick(THREE, stats=stats).backend_id == "node-3"


def test_random_with_a_seeded_rng_covers_all_backends_reproducibly():
    """A seeded rng reaches every backend and repeats the same sequence."""
    first = _ids(make_balancer("random", rng=random.Random(3)), THREE, 60)
    again = _ids(make_balancer("random", rng=random.Random(3)), THREE, 60)
    assert set(first) == {"node-1", "node-2", "node-3"}
    assert first == again


@pytest.mark.parametrize("size", [3, 4, 6])
def test_power_of_two_never_picks_the_busiest_backend(size):
    """With 3+ backends and distinct loads, the strictly busiest one is never chosen."""
    rng = random.Random(size)
    backends = [Backend(f"node-{i}") for i in range(size)]
    balancer = make_balancer("power_of_two", rng=rng)
    picked: set[str] = set()
    for _ in range(500):
        loads = rng.sample(range(50), size)
        stats = {b.id: BackendStats(in_flight=n) for b, n in zip(backends, loads, strict=True)}
        busiest = max(stats, key=lambda i: stats[i].in_flight)
        pick = balancer.pick(backends, stats=stats)
        assert pick.backend_id != busiest
        picked.add(pick.backend_id)
    assert len(picked) == size  # it does sample: every node wins sometimes


def test_power_of_two_takes_the_less_loaded_of_its_two_samples():
    """With two backends both are sampled, so the less loaded always wins."""
    stats = {"node-1": BackendStats(in_flight=2), "node-3": BackendStats(in_flight=5)}
    balancer = make_balancer("power_of_two", rng=random.Random(0))
    for _ in range(50):
        pick = balancer.pick([THREE[0], THREE[2]], stats=stats)
        assert pick.backend_id == "node-1"
        assert "node-1" in pick.reason.split("took")[0]
        assert "node-3" in pick.reason.split("took")[0]
        assert pick.reason.endswith("took node-1")


def test_power_of_two_with_one_backend_picks_it():
    """A single backend needs no sampling."""
    pick = make_balancer("power_of_two").pick([THREE[1]])
    assert pick.backend_id == "node-2"


KEYS = [f"10.0.{i // 256}.{i % 256}" for i in range(10_000)]
FIVE = [Backend(f"node-{i}") for i in range(1, 6)]


def _owners(balancer: Balancer, backends: Sequence[Backend]) -> dict[str, str]:
    return {key: balancer.pick(backends, key=key).backend_id for key in KEYS}


def test_consistent_hash_maps_a_key_to_the_same_node_across_calls_and_instances():
    """The same client address lands on the same node, even in a fresh balancer."""
    first = _owners(make_balancer("consistent_hash"), FIVE)
    assert _owners(make_balancer("consistent_hash"), FIVE) == first
    assert _owners(make_balancer("consistent_hash"), list(reversed(FIVE))) == first


def test_consistent_hash_is_the_same_in_another_process():
    """The ring uses a stable hash, not Python's per-process salted hash()."""
    script = (
        "from archviz.balancer.algorithms import Backend, make_balancer;"
        "b = make_balancer('consistent_hash');"
        "print(' '.join(b.pick([Backend(f'node-{i}') for i in range(1, 6)], key=k).backend_id"
        " for k in ('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h')))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    here = make_balancer("consistent_hash")
    expected = [here.pick(FIVE, key=k).backend_id for k in "abcdefgh"]
    assert out.stdout.split() == expected


def test_consistent_hash_moves_only_the_removed_nodes_keys():
    """When one of five nodes leaves, about a fifth of keys move, all from that node."""
    balancer = make_balancer("consistent_hash")
    before = _owners(balancer, FIVE)
    after = _owners(balancer, FIVE[:2] + FIVE[3:])
    moved = [key for key in KEYS if before[key] != after[key]]
    assert 0.1 <= len(moved) / len(KEYS) <= 0.3
    assert all(before[key] == "node-3" for key in moved)


def test_consistent_hash_sends_keys_only_to_an_added_node():
    """A sixth node takes about a sixth of keys and nothing else moves."""
    balancer = make_balancer("consistent_hash")
    before = _owners(balancer, FIVE)
    after = _owners(balancer, [*FIVE, Backend("node-6")])
    moved = [key for key in KEYS if before[key] != after[key]]
    assert 0.08 <= len(moved) / len(KEYS) <= 0.3
    assert all(after[key] == "node-6" for key in moved)


def test_consistent_hash_gives_a_heavier_node_more_keys():
    """Virtual nodes scale with weight: weight 3 against 1 owns about three quarters."""
    owners = _owners(make_balancer("consistent_hash"), [Backend("big", 3), Backend("small")])
    share = Counter(owners.values())["big"] / len(KEYS)
    assert 0.65 <= share <= 0.85


def test_consistent_hash_without_a_key_falls_back_to_round_robin_and_says_so():
    """No client address or cookie: requests take turns, and the reason explains why."""
    balancer = make_balancer("consistent_hash")
    picks = [balancer.pick(THREE) for _ in range(3)]
    assert [p.backend_id for p in picks] == ["node-1", "node-2", "node-3"]
    assert picks[0].reason == "consistent hash: no key to hash, so round robin chose node-1"


def test_consistent_hash_reason_shows_the_key_but_only_the_start_of_a_long_one():
    """A short address is shown whole; a session cookie is cut so it does not leak."""
    balancer = make_balancer("consistent_hash")
    short = balancer.pick(THREE, key="10.0.0.7")
    assert short.reason == f"consistent hash of 10.0.0.7 → {short.backend_id}"
    cookie = "s3cr3t-session-cookie-value-0123456789"
    assert cookie not in balancer.pick(THREE, key=cookie).reason


@pytest.mark.parametrize("name", NAMES)
def test_backend_set_changes_never_raise_or_return_an_absent_id(name):
    """Nodes leaving (the last pick among them), joining or dying never confuse a strategy."""
    rng = random.Random(name)
    balancer = make_balancer(name, rng=random.Random(1))
    backends = list(WEIGHTED)
    fresh = itertools.count(4)
    for step in range(600):
        stats = _random_stats(rng, backends)
        pick = balancer.pick(backends, key=rng.choice([None, f"client-{step % 40}"]), stats=stats)
        assert pick.backend_id in {b.id for b in backends}
        change = rng.random()
        if change < 0.2 and len(backends) > 1:
            backends = [b for b in backends if b.id != pick.backend_id]
        elif change < 0.4:
            backends.insert(rng.randrange(len(backends) + 1), Backend(f"node-{next(fresh)}", 2))
        elif change < 0.5 and len(backends) > 1:
            backends.pop(rng.randrange(len(backends)))


@pytest.mark.parametrize("name", NAMES)
def test_every_reason_is_a_short_sentence_naming_the_pick(name):
    """Reasons stay under 120 characters and name the chosen backend."""
    backends = [Backend(f"a-rather-long-backend-name-{i}") for i in range(12)]
    balancer = make_balancer(name, rng=random.Random(2))
    for step in range(30):
        stats = _random_stats(random.Random(step), backends)
        pick = balancer.pick(backends, key=f"client-{step}", stats=stats)
        assert len(pick.reason) <= 120
        assert pick.backend_id in pick.reason


def test_ewma_first_sample_is_the_estimate():
    """A backend's first measured latency is its estimate; an unmeasured one has 0."""
    tracker = EwmaTracker()
    assert tracker.observe("node-1", 12.0, now=100.0) == 12.0
    assert tracker.estimate("node-1", now=100.0) == 12.0
    assert tracker.estimate("node-2", now=100.0) == 0.0


def test_ewma_peak_sample_replaces_the_estimate_at_once():
    """A slower sample than expected is taken whole, not averaged in."""
    tracker = EwmaTracker()
    tracker.observe("node-1", 2.0, now=0.0)
    tracker.observe("node-1", 80.0, now=0.1)
    assert tracker.estimate("node-1", now=0.1) == 80.0


def test_ewma_faster_sample_blends_by_elapsed_time():
    """A faster sample is weighted by 1 - exp(-elapsed / tau)."""
    tracker = EwmaTracker(tau_s=10.0)
    tracker.observe("node-1", 100.0, now=0.0)
    w = math.exp(-1.0)
    assert tracker.observe("node-1", 20.0, now=10.0) == pytest.approx(100.0 * w + 20.0 * (1 - w))


def test_ewma_estimate_fades_while_a_backend_is_unmeasured():
    """Without new samples the estimate decays with time constant tau."""
    tracker = EwmaTracker(tau_s=10.0)
    tracker.observe("node-1", 50.0, now=0.0)
    assert tracker.estimate("node-1", now=10.0) == pytest.approx(50.0 / math.e)
    assert tracker.estimate("node-1", now=-5.0) == 50.0  # a clock step back does not grow it


def test_ewma_forgets_a_backend_and_rejects_bad_samples():
    """A forgotten backend is unmeasured again; a negative latency is an error."""
    tracker = EwmaTracker()
    tracker.observe("node-1", 5.0, now=0.0)
    tracker.forget("node-1")
    assert tracker.estimate("node-1", now=0.0) == 0.0
    with pytest.raises(ValueError, match="latency"):
        tracker.observe("node-1", -1.0, now=1.0)


@pytest.mark.parametrize("name", NAMES)
def test_an_algorithm_looks_only_at_what_it_declares(name: str) -> None:
    """The proxy gathers the key and the stats only for algorithms that say they use them,
    so one that does not must choose (and explain) exactly the same without them."""
    rng = random.Random(7)
    given, bare = (
        make_balancer(name, rng=random.Random(1)),
        make_balancer(name, rng=random.Random(1)),
    )
    for step in range(300):
        stats = _random_stats(rng, WEIGHTED)
        key = f"client-{step % 13}"
        full = given.pick(WEIGHTED, key=key, stats=stats)
        gathered = bare.pick(
            WEIGHTED,
            key=key if bare.uses_key else None,
            stats=stats if bare.uses_stats else None,
        )
        assert full == gathered, (name, step)
