"""The class's requests on the lab socket. The instructor's commands go through
commands.carry_out (which checks the permission); a member's tab sends only its heartbeat
and its answer, each naming the member token from its own session."""

import asyncio
from typing import Literal, NotRequired, TypedDict

import redis

from archviz.classroom import commands, rules, store
from archviz.classroom.messages import ClassFrame, ClassRosterFrame
from archviz.core.instructor import ControlRefused, User, require_instructor
from archviz.core.labsocket import AckFrame, ack, socket_handler
from archviz.core.redis_conn import shared_client


class ClassGotoRequest(TypedDict):
    type: Literal["class.goto"]
    path: str  # the page, like /lb/
    lesson: NotRequired[str | None]  # the lesson's slug, when the page shows one
    step: NotRequired[int | None]  # the step shown, from 0


class ClassHighlightRequest(TypedDict):
    type: Literal["class.highlight"]
    element: str | None  # the id of the element to point at; None: none


class ClassPauseRequest(TypedDict):
    type: Literal["class.pause"]
    paused: bool


class ClassPollRequest(TypedDict):
    type: Literal["class.poll"]
    lesson: str
    step: int


class ClassRevealRequest(TypedDict):
    type: Literal["class.reveal"]


class ClassRosterRequest(TypedDict):
    type: Literal["class.roster"]


class ClassStateRequest(TypedDict):
    """A tab's bar asks for the class as it is now, when its socket opens: a change made
    while it was away (a page loading) is not lost."""

    type: Literal["class.state"]


class ClassHeartbeatRequest(TypedDict):
    type: Literal["class.heartbeat"]
    member: str  # the token the join put in this learner's session
    mode: Literal["follow", "free"]


class ClassAnswerRequest(TypedDict):
    type: Literal["class.answer"]
    member: str
    choice: int


async def _command(user: User, message: dict) -> AckFrame:
    await commands.carry_out(user, message)
    return ack(message["type"])


for _request in (
    ClassGotoRequest, ClassHighlightRequest, ClassPauseRequest, ClassPollRequest,
    ClassRevealRequest,
):  # fmt: skip
    socket_handler(_request)(_command)


@socket_handler(ClassRosterRequest)
async def class_roster(user: User, message: ClassRosterRequest) -> ClassRosterFrame:
    await require_instructor(user)
    roster, answered = await _as_member_of_class(_roster)
    return ClassRosterFrame(type="class_roster", roster=roster, answered=answered)


@socket_handler(ClassStateRequest)
async def class_state(user: User, message: ClassStateRequest) -> ClassFrame:
    """Anyone may ask: every tab is sent the same state with each change anyway."""
    return await _as_member_of_class(lambda client, class_id: store.public_frame(client, class_id))


@socket_handler(ClassHeartbeatRequest)
async def class_heartbeat(user: User, message: ClassHeartbeatRequest) -> AckFrame:
    await _as_member_of_class(store.heartbeat, message["member"], message["mode"])
    return ack("class.heartbeat")


@socket_handler(ClassAnswerRequest)
async def class_answer(user: User, message: ClassAnswerRequest) -> AckFrame:
    await _as_member_of_class(store.answer, message["member"], message["choice"])
    return ack("class.answer")


def _roster(client: redis.Redis, class_id: str) -> tuple[list, int]:
    return store.roster_of(client, class_id), store.answered(client, class_id)


async def _as_member_of_class(call, *args):
    """`call(client, class_id, *args)` on the running class; ControlRefused says why not."""

    def run():
        client = shared_client()
        running = store.current(client)
        if running is None:
            raise rules.BadInput("no class is running")
        return call(client, running["id"], *args)

    try:
        return await asyncio.to_thread(run)
    except rules.BadInput as bad:
        raise ControlRefused(str(bad), 400) from None
    except redis.RedisError:
        raise ControlRefused("Redis is not answering: the class cannot hear you", 503) from None
