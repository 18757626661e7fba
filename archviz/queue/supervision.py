"""The queue's commands, carried out by the supervisor on the consumers: stop or start
them all (or one), or SIGKILL the busiest one mid-job."""

import asyncio

import redis

from archviz.core.hooks import Supervision
from archviz.core.redis_conn import shared_client
from archviz.queue import keys as queue_keys
from archviz.queue.control import QueueCommand
from archviz.queue.logic import CLAIM_IDLE_MS

# A killed consumer's restart waits until another consumer may claim the job it held: the
# learner sees the job redelivered to someone else, not just re-read on restart.
KILLED_CONSUMER_RESTART_S = CLAIM_IDLE_MS / 1000 + 2.0


async def carry_out(children: Supervision, command: QueueCommand) -> None:
    consumers = children.children("consumer")
    if command["consumer"]:
        consumers = [c for c in consumers if c == command["consumer"]]
    if not consumers:
        raise LookupError(f"no consumer {command['consumer']!r}")
    action = command["type"].split(".", 1)[1]
    if action == "kill":
        victim = await _busiest(children, consumers)
        await children.kill(victim, command["by"], hold_restart_s=KILLED_CONSUMER_RESTART_S)
        return
    for consumer in consumers:
        if action == "stop":
            children.stop(consumer)
        else:
            await children.start(consumer)


async def _busiest(children: Supervision, consumers: list[str]) -> str:
    """The running consumer holding the most unacknowledged jobs: killing it loses work."""
    running = [c for c in consumers if children.is_running(c)] or consumers
    try:
        summary = await asyncio.to_thread(
            shared_client().xpending, queue_keys.STREAM, queue_keys.GROUP
        )
    except redis.RedisError:
        return running[0]
    pending = {c["name"].decode(): c["pending"] for c in summary.get("consumers") or []}
    return max(running, key=lambda c: pending.get(c, 0))
