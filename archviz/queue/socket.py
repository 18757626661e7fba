"""The queue page's requests on the lab socket, checked on the server: instructors'
scenarios and scaling, learners' jobs."""

import asyncio
from typing import Literal, NotRequired, TypedDict

import redis
from asgiref.sync import sync_to_async
from django.apps import apps

from archviz.core import labsocket
from archviz.core.instructor import ControlRefused, User, require_instructor, send_as
from archviz.core.labsocket import AckFrame, ack, socket_handler
from archviz.core.names import next_numbered_name
from archviz.core.ratelimit import Limit, Refusal, take_shared
from archviz.core.redis_conn import shared_client
from archviz.queue import keys as queue_keys
from archviz.queue import streams
from archviz.queue.models import Consumer
from archviz.trace.emitter import get_emitter

SCENARIO_ACTIONS = ("stop", "start", "kill")
MAX_CONSUMERS = 8
MAX_JOBS_PER_REQUEST = 20
LEARNER_JOB_MS = 150.0  # long enough to watch a job travel
JOB_KINDS = ("normal", "poison", "malformed")
# Jobs from the page, per second (and at once): each user (a logged-in name, else each
# socket), each address for all its anonymous sockets together, and everyone together,
# across every dashboard process (buckets in Redis). Refused jobs are counted ("refused").
JOBS_PER_USER = (10, 40)
JOBS_PER_ADDRESS = (30, 100)
JOBS_IN_ALL = (100, 200)


async def queue_control(user: User, action: object, consumer: object) -> None:
    """Stop or start every consumer (or one), or SIGKILL the busiest one mid-job."""
    await require_instructor(user)
    if action not in SCENARIO_ACTIONS:
        raise ControlRefused(f"unknown queue action {action!r}; use one of {SCENARIO_ACTIONS}", 400)
    await send_as(user, {"type": f"queue.{action}", "consumer": consumer or ""})


async def enqueue_jobs(user: User, count: object, kind: object) -> int:
    """A learner's jobs (normal); instructors may also send poison or malformed ones."""
    if isinstance(count, bool) or not isinstance(count, int):
        count = 0
    if not 1 <= count <= MAX_JOBS_PER_REQUEST:
        raise ControlRefused(f"count must be a whole number from 1 to {MAX_JOBS_PER_REQUEST}", 400)
    if kind not in JOB_KINDS:
        raise ControlRefused(f"unknown job kind {kind!r}; use one of {JOB_KINDS}", 400)
    if kind != "normal":
        await require_instructor(user)
    by = user.get_username() or "learner" if user.is_authenticated else "learner"
    limits = job_limits(user, labsocket.caller())
    try:
        refusal = await asyncio.to_thread(_enqueue, count, kind, by, limits)
    except redis.RedisError:
        raise ControlRefused("Redis is unreachable: the queue cannot take jobs now", 503) from None
    if refusal is not None:
        raise ControlRefused(_refusal_reason(refusal), 429)
    return count


def job_limits(user: User, caller: labsocket.Caller) -> list[Limit]:
    """The buckets a request for jobs draws from: its user's (or socket's and address's)
    and everyone's."""
    if user.is_authenticated:
        own = [Limit(queue_keys.enqueue_limit(f"user:{user.get_username()}"), *JOBS_PER_USER)]
    else:
        own = [
            Limit(queue_keys.enqueue_limit(f"socket:{caller.socket}"), *JOBS_PER_USER),
            Limit(queue_keys.enqueue_limit(f"address:{caller.address}"), *JOBS_PER_ADDRESS),
        ]
    return [*own, Limit(queue_keys.enqueue_limit("all"), *JOBS_IN_ALL)]


def _refusal_reason(refusal: Refusal) -> str:
    limit, wait = refusal.limit, f"try again in {refusal.retry_after_s:.1f} s"
    rate = f"at most {limit.rate:g} jobs a second ({limit.burst} at once)"
    if limit.key == queue_keys.enqueue_limit("all"):
        return f"the queue is full of learners' jobs: {rate} from everyone together; {wait}"
    if ":address:" in limit.key:
        return f"too many jobs from your address: {rate} from all its tabs together; {wait}"
    return f"too many jobs: {rate} each; {wait}"


def _enqueue(count: int, kind: str, by: str, limits: list[Limit]) -> Refusal | None:
    client = shared_client()
    refusal = take_shared(client, limits, count)
    if refusal is not None:
        client.hincrby(queue_keys.STATS, "refused", count)
        return refusal
    if kind == "malformed":
        for _ in range(count):  # its time stamp is words, not a number
            streams.enqueue_raw(client, {"id": streams.new_job_id(), "ts": "yesterday"})
        jobs = []
    else:
        jobs = streams.enqueue(client, count, work_ms=LEARNER_JOB_MS, by=by, fail=kind == "poison")
    for job in jobs:
        get_emitter().emit(
            "queue.enqueue",
            "redis",
            trace=job.trace,
            demo="queue",
            detail={"job": job.id, "by": by},
        )
    return None


async def add_consumer(user: User) -> str:
    """Scale out: one more consumer, named after the highest number in use."""
    await require_instructor(user)
    name = await sync_to_async(_create_next_consumer)()
    get_emitter().emit("fault.inject", "supervisor", detail={"action": "queue.add", "node": name})
    return name


def _create_next_consumer() -> str:
    names = list(Consumer.objects.values_list("name", flat=True))
    if len(names) >= MAX_CONSUMERS:
        raise ControlRefused(f"the lab runs at most {MAX_CONSUMERS} consumers", 400)
    name = next_numbered_name("consumer", names)
    # children's names are unique across kinds: the supervisor keeps one process per name
    if apps.get_model("dashboard", "Node").objects.filter(name=name).exists():
        raise ControlRefused(f"a node is called {name}; rename it first", 400)
    return Consumer.objects.create(name=name).name


async def remove_consumer(user: User, consumer: object) -> None:
    """Scale in: the consumer is stopped gracefully; its unfinished jobs are claimed by others."""
    await require_instructor(user)
    deleted, _ = await sync_to_async(Consumer.objects.filter(name=consumer).delete)()
    if not deleted:
        raise ControlRefused(f"no consumer called {consumer!r}", 404)
    get_emitter().emit(
        "fault.inject", "supervisor", detail={"action": "queue.remove", "node": consumer}
    )


class QueueControlRequest(TypedDict):
    type: Literal["queue.control"]
    action: str  # stop, start or kill
    consumer: NotRequired[str]  # absent or "": every consumer (stop, start), the busiest (kill)


class QueueEnqueueRequest(TypedDict):
    type: Literal["queue.enqueue"]
    count: int
    kind: NotRequired[str]  # normal (anyone), poison or malformed (instructors)


class QueueAddRequest(TypedDict):
    type: Literal["queue.add"]


class QueueRemoveRequest(TypedDict):
    type: Literal["queue.remove"]
    consumer: str


@socket_handler(QueueControlRequest, sets=("queue.consumers",))
async def on_queue_control(user: User, message: QueueControlRequest) -> AckFrame:
    await queue_control(user, message["action"], message.get("consumer"))
    return ack(f"queue.{message['action']}")


@socket_handler(QueueEnqueueRequest)
async def on_queue_enqueue(user: User, message: QueueEnqueueRequest) -> AckFrame:
    await enqueue_jobs(user, message["count"], message.get("kind", "normal"))
    return ack("queue.enqueue")


@socket_handler(QueueAddRequest, sets=("queue.consumers",))
async def on_queue_add(user: User, message: QueueAddRequest) -> AckFrame:
    return ack("queue.add", await add_consumer(user))


@socket_handler(QueueRemoveRequest, sets=("queue.consumers",))
async def on_queue_remove(user: User, message: QueueRemoveRequest) -> AckFrame:
    await remove_consumer(user, message["consumer"])
    return ack("queue.remove", message["consumer"])
