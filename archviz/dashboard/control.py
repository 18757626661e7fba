"""Instructor commands from the page (WebSocket) or the API (HTTP), checked on the server."""

import asyncio

from asgiref.sync import sync_to_async
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from archviz.dashboard.messages import CONTROL_ACTIONS
from archviz.lab.control import NODE_ID, ControlCommand, send_command
from archviz.lab.redis_conn import shared_client
from archviz.trace.emitter import get_emitter
from archviz.trace.events import new_trace_id

PERMISSION = "dashboard.control_lab"


class ControlRefused(Exception):
    """The command was not sent; the message says why, in words for the user."""

    def __init__(self, reason: str, status: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


async def may_control(user: AbstractBaseUser | AnonymousUser) -> bool:
    return await sync_to_async(user.has_perm)(PERMISSION)


async def request_control(
    user: AbstractBaseUser | AnonymousUser, action: object, node: object
) -> None:
    """Check permission and input, then hand the command to the supervisor."""
    if not await may_control(user):
        raise ControlRefused("only instructors (permission control_lab) can do that", 403)
    if action not in CONTROL_ACTIONS:
        raise ControlRefused(f"unknown action {action!r}; use one of {CONTROL_ACTIONS}", 400)
    if not isinstance(node, str) or not NODE_ID.fullmatch(node):
        raise ControlRefused(f"bad node id {node!r}", 400)
    command = ControlCommand(
        type=f"node.{action}", node=node, by=user.get_username(), trace=new_trace_id()
    )
    receivers = await asyncio.to_thread(send_command, shared_client(), command)
    if receivers == 0:
        raise ControlRefused("no lab supervisor is listening; is `manage.py lab` running?", 503)
    get_emitter().emit(
        "fault.inject",
        "supervisor",
        trace=command["trace"],
        detail={"action": action, "node": node, "by": command["by"]},
    )
