"""The suite against a running lab: the learner alone, then the learner while every attack
runs at once; the figures, and whether they meet the issue's targets."""

import asyncio
import time

import redis

from bench.abuse import direct, floods, frames, instructor, origins, resources, slow_readers
from bench.abuse.learner import Journey, LearnerProcess
from bench.abuse.target import Outcome, Target, first_frame_of, session
from bench.common import percentile

ATTACKS = (frames, floods, origins, instructor, direct, slow_readers, resources)
P99_RATIO_TARGET = 2.0
WARMUP_S = 2.0


async def measure(target: Target, baseline_s: float, attack_s: float) -> dict:
    learner = LearnerProcess(target)
    try:
        await asyncio.sleep(WARMUP_S)
        calm = (time.monotonic(), time.monotonic() + baseline_s)
        await asyncio.sleep(baseline_s)
        before = processes(target)
        started = time.monotonic()
        outcomes = await _attack(target, attack_s)
        attacked = (started, time.monotonic())
        memory = redis_memory(target)
        after = processes(target)
    finally:
        journey = await asyncio.to_thread(learner.stop)
    return figures(journey, calm, attacked, outcomes, memory, before, after)


async def _attack(target: Target, seconds: float) -> list[Outcome]:
    await _open_rooms(target, [frames.ROOM, floods.ROOM, slow_readers.ROOM])
    results = await asyncio.gather(
        *(attack.run(target, seconds) for attack in ATTACKS), return_exceptions=True
    )
    outcomes: list[Outcome] = []
    for attack, result in zip(ATTACKS, results, strict=True):
        if isinstance(result, BaseException):  # an attack that broke is not a refusal
            broken = Outcome(f"{attack.__name__}: the attack itself failed")
            broken.count(False, repr(result))
            outcomes.append(broken)
        else:
            outcomes.extend(result)
    outcomes.append(await direct.past_the_connection_cap(target))
    return outcomes


async def _open_rooms(target: Target, rooms: list[str]) -> None:
    """Join each room the attacks use once, so they exist before the room-cap attack fills
    the cap; otherwise an attack run beside it would be refused ROOMS_FULL, not tested."""
    async with session() as http:
        for room in rooms:
            url = target.ws(target.lb, f"/ws/chat/{room}/?user=mallory")
            async with http.ws_connect(url) as ws:
                if await first_frame_of(ws, "welcome", 10) is None:
                    raise RuntimeError(f"could not open the room {room!r}: close {ws.close_code}")


def processes(target: Target) -> dict:
    """Every process of the lab, by its pid and restarts: the same before and after means
    none died (a restarted one has a new pid and one more restart)."""
    state = target.state()
    return {
        "supervisor": state["supervisor_pid"],
        "dashboards": sorted(d["pid"] for d in state["dashboards"]),
        "nodes": {n["id"]: [n["pid"], n["status"], n["restarts"]] for n in state["nodes"]},
        "lb": bool(state["lb"] and state["lb"]["up"]),
        "traffic": bool(state["traffic"] and state["traffic"]["up"]),
    }


def redis_memory(target: Target) -> dict:
    info = redis.Redis.from_url(target.redis_url).info("memory")
    return {"used_bytes": info["used_memory"], "max_bytes": info["maxmemory"],
            "policy": info.get("maxmemory_policy")}  # fmt: skip


def figures(learner: Journey, calm, attacked, outcomes, memory, before, after) -> dict:
    base, during = learner.window(*calm), learner.window(*attacked)
    p99_base, p99_during = percentile(base, 99), percentile(during, 99)
    ratio = p99_during / p99_base if base and during else float("inf")
    lost = learner.lost
    failed = learner.failures(calm[0], attacked[1])
    up = _all_up(before, after)
    summary = {
        "attacks_tried": len(outcomes),
        "attacks_refused": sum(o.held for o in outcomes),
        "attacks": [o.as_dict() for o in outcomes],
        "learner_pings": {"baseline": len(base), "attack": len(during)},
        "learner_p50_ms": {
            "baseline": _r(percentile(base, 50)),
            "attack": _r(percentile(during, 50)),
        },
        "learner_p99_ms": {"baseline": _r(p99_base), "attack": _r(p99_during)},
        "learner_p99_ratio": _r(ratio),
        "where_the_time_went": {
            "baseline": _where(learner, calm),
            "attack": _where(learner, attacked),
        },
        "learner_ping_failures": failed[:10],
        "learner_ping_failure_count": len(failed),
        "learner_messages_said": learner.said,
        "learner_messages_lost": len(lost),
        "redis_memory": memory,
        "processes_up": up,
        "processes": {"before": before, "after": after},
    }
    summary["meets_targets"] = bool(
        summary["attacks_refused"] == summary["attacks_tried"]
        and ratio <= P99_RATIO_TARGET
        and 0 < memory["used_bytes"] < memory["max_bytes"]
        and up
        and not lost
        and not failed
    )
    return summary


def _where(learner: Journey, window: tuple[float, float]) -> dict:
    """p99s of the dashboard's own measure of the pings, and of each node's round trips."""
    where = learner.where(*window)
    nodes = {node: _r(percentile(ms, 99)) for node, ms in sorted(where["by_node"].items())}
    return {"dashboard_p99_ms": _r(percentile(where["dashboard_ms"], 99)), "p99_by_node": nodes}


def _all_up(before: dict, after: dict) -> bool:
    nodes_up = all(status == "up" for _, status, _ in after["nodes"].values())
    return before == after and nodes_up and after["lb"] and after["traffic"]


def _r(value: float) -> float:
    return round(value, 2)
