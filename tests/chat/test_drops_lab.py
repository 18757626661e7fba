"""A real lab: a node too busy to read its Redis subscription is closed by Redis, and the lab
says so twice, from Redis's log (the lab page's Redis box) and from the node (its card)."""

import asyncio
import json
import os
import signal
from collections.abc import Iterator

import pytest
import redis

from archviz.chat.layers import group_channel
from archviz.core import keys
from tests.chat.conftest import clients_on
from tests.harness.flood import PUBSUB_LIMIT, flood_until_closed
from tests.harness.lab import RunningLab
from tests.harness.wait_for import async_wait_for

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def drops_lab(tmp_path_factory) -> Iterator[RunningLab]:
    """A lab whose embedded Redis closes a pub/sub client past 1 MB waiting."""
    running = RunningLab(tmp_path_factory.mktemp("drops-lab"),
                         ARCHVIZ_REDIS_PUBSUB_BUFFER_LIMIT=PUBSUB_LIMIT).start()  # fmt: skip
    try:
        running.wait_for_ready(3)
        yield running
    finally:
        running.process.close(timeout=15)


def _traced(lab: RunningLab, kind: str) -> list[dict]:
    """The events of this kind in the lab's trace log (the replay stream)."""
    client = redis.Redis.from_url(lab.redis_url)
    try:
        batches = [json.loads(f[b"batch"]) for _id, f in client.xrange(keys.TRACE_LOG)]
    finally:
        client.close()
    return [event for batch in batches for event in batch if event["kind"] == kind]


async def _state(lab: RunningLab) -> dict:
    return await asyncio.to_thread(lab.state)


async def test_a_frozen_nodes_subscription_closed_by_redis_is_counted_and_shown(
    drops_lab: RunningLab,
) -> None:
    """node-2 frozen (SIGSTOP) while its room's channel floods: Redis closes its layer's
    subscriber once; the lab state counts one close, and node-2, thawed, one lost connection
    that its layer re-made (a later message still reaches its client)."""
    # node-2's client alone is in the room while it floods: on a shared machine node-1, reading
    # and decoding it all, could be too slow as well and be closed too
    async with clients_on(drops_lab, "flood", ("bo", "node-2")) as (bo,):
        state = await _state(drops_lab)
        node = next(n for n in state["nodes"] if n["id"] == "node-2")
        assert node["drops"] == {"group_full_total": 0, "expired_total": 0, "pubsub_lost_total": 0}
        assert state["redis"]["output_buffer_closes"] == 0
        os.kill(node["pid"], signal.SIGSTOP)
        try:
            flood_until_closed(drops_lab.redis_url, group_channel("flood"))
        finally:
            os.kill(node["pid"], signal.SIGCONT)

        state = await async_wait_for(
            lambda: _state(drops_lab), "the lab and node-2 to count the close",
            until=lambda s: s["redis"]["output_buffer_closes"] >= 1 and next(
                n for n in s["nodes"] if n["id"] == "node-2")["drops"]["pubsub_lost_total"] >= 1,
            timeout=20,
        )  # fmt: skip
        assert state["redis"]["output_buffer_closes"] == 1
        assert next(n for n in state["nodes"] if n["id"] == "node-2")["drops"] == {
            "group_full_total": 0, "expired_total": 0, "pubsub_lost_total": 1}  # fmt: skip
        assert any("archviz.redis WARNING Redis closed" in line for line in drops_lab.lines)
        (closed,) = await async_wait_for(
            lambda: _traced(drops_lab, "redis.client_closed"), "the close in the trace"
        )
        assert closed["detail"]["total"] == 1 and closed["ok"] is False
        (lost,) = await async_wait_for(
            lambda: _traced(drops_lab, "pubsub.lost"), "node-2's lost subscription in the trace"
        )
        assert (lost["src"], lost["dst"], lost["ok"]) == ("node-2", "redis", False)

        async with clients_on(drops_lab, "flood", ("ann", "node-1")) as (ann,):
            await ann.send("after the flood")
            await bo.wait_until(lambda: any(m["text"] == "after the flood" for m in bo.messages),
                                "node-2's client to hear the room again", within=15)  # fmt: skip
