"""The backend behind the gate: capacity slots at once, first come first served, so a limit
above capacity makes round trips longer, not the node faster; and what the gate reports of
its recent queue times and round trips."""

import asyncio

import pytest

from archviz.node.work import Backend, WorkGate


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def _use(backend: Backend, release: asyncio.Event, order: list[int], i: int) -> None:
    async with backend.slot():
        order.append(i)
        await release.wait()


async def test_past_capacity_requests_wait_and_get_their_slot_in_arrival_order() -> None:
    backend, release, order = Backend(2), asyncio.Event(), []
    tasks = [asyncio.create_task(_use(backend, release, order, i)) for i in range(5)]
    await _settle()
    assert (order, backend.busy, backend.waiting) == ([0, 1], 2, 3)
    release.set()
    await asyncio.gather(*tasks)
    assert (order, backend.busy, backend.waiting) == ([0, 1, 2, 3, 4], 0, 0)


async def test_a_waiter_that_gives_up_takes_no_slot_and_more_capacity_lets_others_in() -> None:
    backend, release, order = Backend(1), asyncio.Event(), []
    first = asyncio.create_task(_use(backend, release, order, 0))
    gives_up = asyncio.create_task(_use(backend, release, order, 1))
    later = [asyncio.create_task(_use(backend, release, order, i)) for i in (2, 3)]
    await _settle()
    gives_up.cancel()
    with pytest.raises(asyncio.CancelledError):
        await gives_up
    assert (backend.busy, backend.waiting) == (1, 2)
    backend.set_capacity(3)
    await _settle()
    assert (sorted(order), backend.busy, backend.waiting) == ([0, 2, 3], 3, 0)
    release.set()
    await asyncio.gather(first, *later)
    assert backend.busy == 0


async def test_a_limit_past_capacity_lengthens_the_round_trips_the_gate_reports() -> None:
    """An AIMD gate (its limit may grow past capacity) in front of one backend slot: four
    requests of 20 ms at once take turns, so the mean round trip is well over 20 ms."""
    gate = WorkGate(1, "aimd")
    gate.room.policy._limit = 4  # grown past capacity, as AIMD does under load

    async def request() -> None:
        async with gate.slot(), gate.backend.slot():
            await asyncio.sleep(0.02)

    await asyncio.gather(*(request() for _ in range(4)))
    recent = gate.recent()
    assert recent["rtt_ms"] >= 20 * (1 + 2 + 3 + 4) / 4 * 0.9  # 50 ms: each waited its turn
    assert recent["queue_ms"] < 5  # all four were within the limit: none queued at the gate
    assert recent["rtt_timeout_ms"] == 500  # what AIMD reads its round trips against


async def test_the_gate_reports_the_longest_recent_wait_in_its_queue() -> None:
    gate, release = WorkGate(1), asyncio.Event()

    async def request() -> None:
        async with gate.slot():
            await release.wait()

    tasks = [asyncio.create_task(request()) for _ in range(2)]
    await _settle()
    await asyncio.sleep(0.03)
    release.set()
    await asyncio.gather(*tasks)
    assert gate.recent()["queue_ms"] >= 30 * 0.9
    assert WorkGate(1).recent() == {"queue_ms": 0.0, "rtt_ms": 0.0}  # nothing yet: zeros
