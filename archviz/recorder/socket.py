"""The lab socket's replay requests: replay a range of a recording, or go back to live.

A tab may replay for itself; a replay for every tab (`everyone`) is an instructor's, checked
here on the server like every instructor action.
"""

import asyncio
import json
from typing import Literal, NotRequired, TypedDict

import redis

from archviz.core import labsocket
from archviz.core.instructor import ControlRefused, User, require_instructor
from archviz.core.labsocket import socket_handler
from archviz.core.redis_conn import shared_client
from archviz.recorder import replay
from archviz.recorder.replay import ReplayRefused, replays


class ReplayRequest(TypedDict):
    type: Literal["replay"]
    start: int  # unix ms; the replay starts from the nearest keyframe at or before it
    end: NotRequired[int]  # unix ms; default: the end of the recording
    speed: float  # 0.25 to 8
    recording: NotRequired[str]  # "live" (the lab's own) or an imported recording's name
    everyone: NotRequired[bool]  # every tab of the class (instructors only)


class ReplayStopRequest(TypedDict):
    type: Literal["replay.stop"]
    everyone: NotRequired[bool]


class _Refused(ControlRefused):
    def __init__(self, reason: str) -> None:
        super().__init__(reason, 400)


@socket_handler(ReplayRequest)
async def start_replay(user: User, message: ReplayRequest) -> dict:
    """The keyframe it starts from comes back at once; the rest follows at its speed."""
    everyone = message.get("everyone", False)
    if everyone:
        await require_instructor(user)
    by = user.get_username() if user.is_authenticated else None
    try:
        plan, first = await asyncio.to_thread(_plan, message, by, everyone)
        if everyone:
            await asyncio.to_thread(replay.publish_for_class, shared_client(), "start", plan)
        else:
            replays.start([labsocket.caller().socket], plan)
    except ReplayRefused as refused:
        raise _Refused(str(refused)) from None
    except redis.RedisError:
        raise _Refused("Redis is not answering: nothing to replay") from None
    return json.loads(first)


def _plan(message: dict, by: str | None, everyone: bool) -> tuple[replay.Plan, str]:
    client = shared_client()
    plan = replay.plan_for(client, message, by, everyone)
    return plan, replay.first_frame(client, plan)


@socket_handler(ReplayStopRequest)
async def stop_replay(user: User, message: ReplayStopRequest) -> dict:
    """Back to live: this tab, or (an instructor's) every tab; the answer is the live state."""
    socket = labsocket.caller().socket
    if message.get("everyone", False):
        await require_instructor(user)
        try:
            await asyncio.to_thread(replay.publish_for_class, shared_client(), "stop")
        except redis.RedisError:
            raise _Refused("Redis is not answering: the class could not be told") from None
    else:
        replays.stop(socket)
    live = replays.live_frame(socket)
    return json.loads(live) if live is not None else labsocket.ack("replay.stop")
