"""The hostile-client suite, short (bench/abuse): against a real lab, every attack is
refused or counted, every process is still up, Redis stays under its cap, and the learner
loses nothing. No timing here: the learner's latency is the benchmark's figure."""

import asyncio
from collections.abc import Iterator

import pytest

from bench.abuse.suite import measure
from bench.abuse.target import Target
from tests.harness.lab import RunningLab

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def abuse_lab(tmp_path_factory) -> Iterator[RunningLab]:
    """A lab of its own: the attacks fill its chat rooms and its balancer's connections."""
    lab = RunningLab(tmp_path_factory.mktemp("abuse"), ARCHVIZ_LB_MAX_CONNECTIONS="150")
    lab.start()
    try:
        lab.wait_for_ready(3)
        yield lab
    finally:
        lab.process.close(timeout=15)


@pytest.fixture(scope="module")
def figures(abuse_lab: RunningLab) -> dict:
    target = Target.of_lab(abuse_lab.url, abuse_lab.redis_url, quick=True)
    return asyncio.run(measure(target, baseline_s=2.0, attack_s=3.0))


def test_every_attack_is_refused_or_counted(figures: dict) -> None:
    let_through = [a for a in figures["attacks"] if not a["held"]]
    assert not let_through, [(a["attack"], a["seen"]) for a in let_through]
    assert figures["attacks_refused"] == figures["attacks_tried"] >= 15


def test_every_process_is_still_up_and_none_restarted(figures: dict) -> None:
    assert figures["processes_up"], figures["processes"]


def test_redis_memory_stays_under_its_cap(figures: dict) -> None:
    memory = figures["redis_memory"]
    assert 0 < memory["used_bytes"] < memory["max_bytes"]
    assert memory["policy"] == "noeviction"  # the registry and the queue are never evicted


def test_the_learner_loses_nothing(figures: dict) -> None:
    """Every message the learner said came back, and every ping was answered."""
    assert figures["learner_messages_said"] > 0 and figures["learner_messages_lost"] == 0
    assert figures["learner_ping_failure_count"] == 0, figures["learner_ping_failures"]
    assert figures["learner_pings"]["attack"] > 0
