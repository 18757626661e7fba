"""The node's work gate: capacity, a bounded queue, refusals, and live capacity changes."""

import asyncio

import pytest

from archviz.node.admission import CoDelAdaptiveLifo
from archviz.node.work import QueueFull, QueueTimedOut, WorkGate


async def _hold(gate: WorkGate, release: asyncio.Event, results: list) -> None:
    try:
        async with gate.slot() as queued:
            results.append("queued" if queued else "direct")
            await release.wait()
    except QueueFull:
        results.append("refused")


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_requests_beyond_capacity_wait_then_beyond_the_queue_are_refused() -> None:
    """Capacity 2 and a queue of 4: of 8 requests, 2 work, 4 wait, 2 are refused."""
    gate, release, results = WorkGate(2), asyncio.Event(), []
    tasks = [asyncio.create_task(_hold(gate, release, results)) for _ in range(8)]
    await _settle()
    assert (gate.in_flight, gate.queued, gate.rejected_total) == (2, 4, 2)
    assert sorted(results) == ["direct", "direct", "refused", "refused"]
    release.set()
    await asyncio.gather(*tasks)
    assert results.count("queued") == 4
    assert (gate.in_flight, gate.queued, gate.served_total) == (0, 0, 6)


async def test_raising_capacity_admits_waiting_requests_at_once() -> None:
    """Capacity changes apply live: waiting requests start as soon as there is room."""
    gate, release, results = WorkGate(1), asyncio.Event(), []
    tasks = [asyncio.create_task(_hold(gate, release, results)) for _ in range(3)]
    await _settle()
    assert (gate.in_flight, gate.queued) == (1, 2)
    gate.set_capacity(3)
    await _settle()
    assert (gate.in_flight, gate.queued) == (3, 0)
    release.set()
    await asyncio.gather(*tasks)


async def test_a_waiting_request_that_is_cancelled_leaves_no_trace() -> None:
    """A client that gives up while queued is removed from the queue and never counted in."""
    gate, release, results = WorkGate(1), asyncio.Event(), []
    first = asyncio.create_task(_hold(gate, release, results))
    waiting = asyncio.create_task(_hold(gate, release, results))
    await _settle()
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert (gate.in_flight, gate.queued) == (1, 0)
    release.set()
    await first
    assert gate.in_flight == 0


async def test_a_request_waiting_past_the_policys_timeout_is_refused_and_counted() -> None:
    """CoDel's interval (50 ms) for a young queue: the waiter is refused, not served late."""
    gate, release, results = WorkGate(1, policy="codel"), asyncio.Event(), []
    first = asyncio.create_task(_hold(gate, release, results))
    await _settle()
    loop = asyncio.get_running_loop()
    began = loop.time()
    with pytest.raises(QueueTimedOut, match="in the queue"):
        async with gate.slot():
            pass
    assert loop.time() - began >= CoDelAdaptiveLifo.INTERVAL_MS / 1000
    assert (gate.timed_out_total, gate.rejected_total, gate.queued) == (1, 1, 0)
    release.set()
    await first
    assert (gate.in_flight, gate.served_total) == (0, 1)


async def test_the_policy_is_switched_live_and_keeps_the_work_in_hand() -> None:
    """From the fixed queue to AIMD, which queues nothing: the request working finishes
    normally; the one waiting is refused at once by the rule now in force, not left to
    wait out the old one's timeout."""
    gate, release, results = WorkGate(1), asyncio.Event(), []
    tasks = [asyncio.create_task(_hold(gate, release, results)) for _ in range(2)]
    await _settle()
    gate.set_policy("aimd")
    assert (gate.policy, gate.limit, gate.queue_limit) == ("aimd", 1, 0)
    await _settle()
    assert results == ["direct", "refused"] and gate.queued == 0
    await _hold(gate, release, results)
    assert results[-1] == "refused"
    release.set()
    await asyncio.gather(*tasks)
    assert (gate.in_flight, gate.queued, gate.served_total) == (0, 0, 1)


async def test_an_admitted_request_whose_client_left_frees_its_slot() -> None:
    """Cancelled just as its turn came: the slot goes to the next waiter, not lost."""
    gate, release, results = WorkGate(1), asyncio.Event(), []
    first = asyncio.create_task(_hold(gate, release, results))
    second = asyncio.create_task(_hold(gate, release, results))
    third = asyncio.create_task(_hold(gate, release, results))
    await _settle()
    release.set()
    second.cancel()
    await asyncio.gather(first, third)
    with pytest.raises(asyncio.CancelledError):
        await second
    assert (gate.in_flight, gate.queued) == (0, 0)
    assert results.count("queued") == 1
