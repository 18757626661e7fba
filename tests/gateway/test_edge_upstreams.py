"""Which service replica a gateway replica sends a request to: round robin over the healthy
ones, a refusing one skipped for a while, the lists re-read from the registry (only what the
supervisor vouches for)."""

import os

import pytest
import redis

from archviz.core.registry import Registration, register
from archviz.gateway.edge.upstreams import ReplicaSet, Upstreams, trusted_replicas
from archviz.trace.events import now_ms
from tests.harness.supervised import register_as_supervised


def replica(component_id: str, port: int = 9000, pid: int = 100) -> Registration:
    return Registration(component_id, "catalog", pid, "127.0.0.1", port, 0.0)


ONE, TWO, THREE = replica("catalog-1", 9001), replica("catalog-2", 9002), replica("catalog-3", 9003)


def picks(replicas: ReplicaSet, n: int, now: float = 0.0, **kwargs) -> list[str]:
    return [replicas.pick(now, **kwargs).id for _ in range(n)]


def test_round_robin_takes_each_healthy_replica_in_turn() -> None:
    replicas = ReplicaSet()
    replicas.replace([THREE, ONE, TWO])
    sequence = picks(replicas, 6)
    assert sorted(sequence[:3]) == ["catalog-1", "catalog-2", "catalog-3"]
    assert sequence[:3] == sequence[3:]


def test_no_replica_is_none() -> None:
    assert ReplicaSet().pick(0.0) is None


def test_excluded_replicas_are_left_out() -> None:
    replicas = ReplicaSet()
    replicas.replace([ONE, TWO])
    assert set(picks(replicas, 4, exclude=["catalog-1"])) == {"catalog-2"}
    assert replicas.pick(0.0, exclude=["catalog-1", "catalog-2"]) is None


def test_a_refusing_replica_is_skipped_for_a_while() -> None:
    replicas = ReplicaSet(skip_s=3.0)
    replicas.replace([ONE, TWO])
    replicas.refused(ONE, now=10.0)
    assert set(picks(replicas, 4, now=12.9)) == {"catalog-2"}
    assert [r.id for r in replicas.healthy(12.9)] == ["catalog-2"]
    assert set(picks(replicas, 4, now=13.0)) == {"catalog-1", "catalog-2"}


def test_all_skipped_is_none_healthy() -> None:
    replicas = ReplicaSet(skip_s=3.0)
    replicas.replace([ONE])
    replicas.refused(ONE, now=0.0)
    assert replicas.pick(1.0) is None


def test_a_skip_outlives_a_refresh_but_not_a_restart() -> None:
    """The same replica re-read from the registry stays skipped; restarted (another pid and
    port) it is another replica, tried at once."""
    replicas = ReplicaSet(skip_s=3.0)
    replicas.replace([ONE, TWO])
    replicas.refused(ONE, now=0.0)
    replicas.replace([ONE, TWO])
    assert [r.id for r in replicas.healthy(1.0)] == ["catalog-2"]
    restarted = replica("catalog-1", port=9100, pid=200)
    replicas.replace([restarted, TWO])
    assert [r.id for r in replicas.healthy(1.0)] == ["catalog-1", "catalog-2"]


def test_a_replica_gone_from_the_registry_is_no_longer_picked() -> None:
    replicas = ReplicaSet()
    replicas.replace([ONE, TWO])
    replicas.replace([TWO])
    assert set(picks(replicas, 3)) == {"catalog-2"}


async def test_a_refresh_reads_every_kind_and_tells_the_listeners() -> None:
    found = {"catalog": [ONE, TWO], "bidding": [], "auth": []}
    upstreams = Upstreams(lambda kind: found[kind], clock=lambda: 0.0)
    heard = []
    upstreams.on_change(heard.append)
    assert await upstreams.refresh()
    assert upstreams.refreshed.is_set()
    assert [r.id for r in upstreams.healthy("catalog")] == ["catalog-1", "catalog-2"]
    assert heard == [found]


async def test_a_failed_refresh_keeps_the_last_lists() -> None:
    answers = iter([[ONE], redis.ConnectionError("Redis is away")])

    def source(kind: str) -> list[Registration]:
        answer = next(answers) if kind == "catalog" else []
        if isinstance(answer, Exception):
            raise answer
        return answer

    upstreams = Upstreams(source, kinds=("catalog",), clock=lambda: 0.0)
    assert await upstreams.refresh()
    assert not await upstreams.refresh()
    assert upstreams.pick("catalog").id == "catalog-1"


@pytest.mark.usefixtures("redis_url")
def test_only_the_replicas_the_supervisor_vouches_for_are_used(redis_client: redis.Redis) -> None:
    """A registration planted beside the real one (no supervisor's record) is left out."""
    real = Registration("catalog-1", "catalog", os.getpid(), "127.0.0.1", 9001, now_ms())
    register_as_supervised(redis_client, real)
    register(redis_client, Registration("catalog-x", "catalog", 1, "10.6.6.6", 80, now_ms()))
    assert [r.id for r in trusted_replicas("catalog")] == ["catalog-1"]
