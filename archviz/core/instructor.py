"""Instructor commands from a page (WebSocket) or the API (HTTP), checked on the server."""

import asyncio
import json

from asgiref.sync import sync_to_async
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from archviz.core.control import (
    ControlCommand,
    InvalidCommand,
    carried_out_by,
    parse_command,
    send_command,
)
from archviz.core.redis_conn import shared_client
from archviz.trace.emitter import get_emitter
from archviz.trace.events import new_trace_id

PERMISSION = "dashboard.control_lab"

User = AbstractBaseUser | AnonymousUser


class ControlRefused(Exception):
    """The command was not sent; the message says why, in words for the user."""

    def __init__(self, reason: str, status: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


async def may_control(user: User) -> bool:
    return await sync_to_async(user.has_perm)(PERMISSION)


async def require_instructor(user: User) -> None:
    if not await may_control(user):
        raise ControlRefused("only instructors (permission control_lab) can do that", 403)


async def send_as(user: User, fields: dict) -> ControlCommand:
    """Check permission and input, then publish the command to whoever carries it out."""
    await require_instructor(user)
    try:
        command = parse_command(
            json.dumps(fields | {"by": user.get_username(), "trace": new_trace_id()})
        )
    except InvalidCommand as exc:
        raise ControlRefused(str(exc), 400) from None
    receivers = await asyncio.to_thread(send_command, shared_client(), command)
    target = carried_out_by(command["type"])
    if receivers == 0:
        raise ControlRefused(f"nothing is listening for commands ({target} not running?)", 503)
    detail = {k: v for k, v in command.items() if k not in ("type", "trace")}
    get_emitter().emit(
        "fault.inject", target, trace=command["trace"], detail={"action": command["type"]} | detail
    )
    return command
