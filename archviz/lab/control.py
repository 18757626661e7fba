"""Control commands to the supervisor: their schema, validation, and how to send one."""

import json
import re
from typing import Literal, TypedDict

import redis

from archviz.lab import keys

COMMANDS = ("node.kill", "node.stop", "node.restart")
NODE_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")  # use with fullmatch


class ControlCommand(TypedDict):
    type: Literal["node.kill", "node.stop", "node.restart"]
    node: str
    by: str  # who asked, for the trace log
    trace: str


class InvalidCommand(ValueError):
    """A control command that does not follow the schema; the message says why."""


def parse_command(raw: bytes | str) -> ControlCommand:
    try:
        obj = json.loads(raw)
    except ValueError:
        raise InvalidCommand("not JSON") from None
    if not isinstance(obj, dict):
        raise InvalidCommand("a command must be a JSON object")
    if obj.get("type") not in COMMANDS:
        raise InvalidCommand(f"unknown command {obj.get('type')!r}")
    node = obj.get("node")
    if not isinstance(node, str) or not NODE_ID.fullmatch(node):
        raise InvalidCommand(f"bad node id {node!r}")
    by = obj.get("by", "")
    trace = obj.get("trace", "")
    if not isinstance(by, str) or not isinstance(trace, str):
        raise InvalidCommand("'by' and 'trace' must be strings")
    return ControlCommand(type=obj["type"], node=node, by=by[:150], trace=trace[:64])


def send_command(client: redis.Redis, command: ControlCommand) -> int:
    """Publish a command; returns how many supervisors received it (0: none running)."""
    return client.publish(keys.CONTROL_CHANNEL, json.dumps(command))
