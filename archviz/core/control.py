"""Control commands on the `archviz:control` channel: the envelope, parsing and sending.

Every command is a JSON object with a `type`, `by` (who asked, for the trace log) and
`trace`. Each app registers the command types it defines, with the function that checks
their fields (`register_commands`, called from its AppConfig.ready), so this module knows
no demo. The dashboard checks permissions before it sends any command; every component
ignores the commands that are not its own.
"""

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypedDict

import redis

from archviz.core import keys
from archviz.core.redis_conn import async_blocking_client

log = logging.getLogger(__name__)
RESUBSCRIBE_AFTER_S = 0.5
NODE_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")  # a child's id; use with fullmatch


class CommandEnvelope(TypedDict):
    """What every command carries; each app's commands add their own fields."""

    type: str
    by: str  # who asked, for the trace log
    trace: str


# A parsed command: the envelope plus the fields of its type (each app's TypedDict).
ControlCommand = Mapping[str, Any]
FieldParser = Callable[[dict], dict]  # the raw object -> its checked fields


class InvalidCommand(ValueError):
    """A control command that does not follow the schema; the message says why."""


@dataclass(frozen=True)
class _CommandType:
    parse_fields: FieldParser
    carried_out_by: str  # who carries it out, in words for "nothing is listening" errors


_TYPES: dict[str, _CommandType] = {}


def register_commands(types: Iterable[str], parse_fields: FieldParser, carried_out_by: str) -> None:
    """Make command types known: `parse_fields` checks the fields beyond the envelope."""
    for kind in types:
        _TYPES[kind] = _CommandType(parse_fields, carried_out_by)


def carried_out_by(kind: str) -> str:
    return _TYPES[kind].carried_out_by


def parse_command(raw: bytes | str) -> ControlCommand:
    try:
        obj = json.loads(raw)
    except ValueError:
        raise InvalidCommand("not JSON") from None
    if not isinstance(obj, dict):
        raise InvalidCommand("a command must be a JSON object")
    kind = obj.get("type")
    if not isinstance(kind, str) or kind not in _TYPES:
        raise InvalidCommand(f"unknown command {kind!r}")
    by, trace = obj.get("by", ""), obj.get("trace", "")
    if not isinstance(by, str) or not isinstance(trace, str):
        raise InvalidCommand("'by' and 'trace' must be strings")
    envelope = CommandEnvelope(type=kind, by=by[:150], trace=trace[:64])
    return envelope | _TYPES[kind].parse_fields(obj)


def validate_node_id(node: object) -> str:
    if not isinstance(node, str) or not NODE_ID.fullmatch(node):
        raise InvalidCommand(f"bad node id {node!r}")
    return node


def validate_choice(field: str, value: object, choices: Iterable[str]) -> str:
    """`value` if it is one of `choices`; the error names them all."""
    choices = tuple(choices)
    if not isinstance(value, str) or value not in choices:
        raise InvalidCommand(f"unknown {field} {value!r}; use one of {', '.join(choices)}")
    return value


def send_command(client: redis.Redis, command: ControlCommand) -> int:
    """Publish a command; returns how many processes received it (0: none listening)."""
    return client.publish(keys.CONTROL_CHANNEL, json.dumps(command))


async def listen_for_commands(
    component: str,
    prefix: str | tuple[str, ...],
    carry_out: Callable[[ControlCommand], Awaitable[None]],
) -> None:
    """For ever: hand each valid command whose type starts with `prefix` (or one of) to carry_out.

    Malformed commands are logged and skipped, a failing carry_out is logged, and a lost
    Redis connection is resubscribed: a component never dies of its control channel.
    """
    lost = False
    while True:
        client = async_blocking_client()
        try:
            async with client.pubsub() as pubsub:
                await pubsub.subscribe(keys.CONTROL_CHANNEL)
                if lost:
                    log.info("%s: listening for commands again", component)
                    lost = False
                async for message in pubsub.listen():
                    if message["type"] == "message":
                        await _dispatch(component, prefix, message["data"], carry_out)
        except (redis.RedisError, OSError) as exc:
            if not lost:  # once per outage
                log.warning("%s: control channel lost, resubscribing: %s", component, exc)
            lost = True
        finally:
            with contextlib.suppress(redis.RedisError, OSError):
                await client.aclose()
        await asyncio.sleep(RESUBSCRIBE_AFTER_S)


async def _dispatch(component: str, prefix: str | tuple[str, ...], raw: bytes, carry_out) -> None:
    try:
        command = parse_command(raw)
    except InvalidCommand as exc:
        log.warning("%s: ignored a malformed control command: %s", component, exc)
        return
    if not command["type"].startswith(prefix):
        return  # another component's
    try:
        await carry_out(command)
    except Exception:  # one command that fails must not end the listening
        log.exception("%s: failed to carry out %s", component, command["type"])
