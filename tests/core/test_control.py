"""Control commands: schema validation and publishing to real supervisors."""

import json

import pytest
import redis

from archviz.core import keys
from archviz.core.control import InvalidCommand, parse_command, send_command
from archviz.lab.control import NodeCommand


def _raw(**overrides) -> str:
    command = {"type": "node.kill", "node": "node-1", "by": "alice", "trace": "abc123"}
    return json.dumps(command | overrides)


def test_valid_command_is_accepted():
    """Each known type with a good node id parses to a ControlCommand."""
    for kind in ("node.kill", "node.stop", "node.restart"):
        assert parse_command(_raw(type=kind)) == {
            "type": kind,
            "node": "node-1",
            "by": "alice",
            "trace": "abc123",
        }


def test_by_and_trace_default_to_empty_strings():
    """A command without by/trace still parses, with empty strings."""
    command = parse_command(b'{"type": "node.stop", "node": "n1"}')
    assert command["by"] == ""
    assert command["trace"] == ""


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("{not json", "not JSON"),
        ('["node.kill", "node-1"]', "JSON object"),
        ('"node.kill"', "JSON object"),
        (_raw(type="node.explode"), "unknown command"),
        (_raw(type=None), "unknown command"),
    ],
)
def test_malformed_command_is_rejected(raw: str, reason: str):
    """Non-JSON, non-objects and unknown types raise InvalidCommand saying why."""
    with pytest.raises(InvalidCommand, match=reason):
        parse_command(raw)


@pytest.mark.parametrize("node", ["", "Node-1", "n" * 41, "../x", "-node", "node 1", 7, None])
def test_bad_node_id_is_rejected(node: object):
    """Empty, uppercase, too long, path-like or non-string node ids are refused."""
    with pytest.raises(InvalidCommand, match="bad node id"):
        parse_command(_raw(node=node))


def test_longest_allowed_node_id_is_accepted():
    """A 40-character id is the limit and still valid."""
    assert parse_command(_raw(node="n" * 40))["node"] == "n" * 40


@pytest.mark.parametrize("field", ["by", "trace"])
def test_non_string_by_or_trace_is_rejected(field: str):
    """'by' and 'trace' must be strings."""
    with pytest.raises(InvalidCommand, match="must be strings"):
        parse_command(_raw(**{field: 5}))


def test_send_command_without_supervisor_reaches_nobody(redis_client: redis.Redis):
    """With no subscriber on the control channel, send_command returns 0."""
    command = NodeCommand(type="node.stop", node="node-1", by="t", trace="")
    assert send_command(redis_client, command) == 0


def test_send_command_reaches_a_subscribed_supervisor(redis_client: redis.Redis):
    """A real pub/sub subscriber receives the command, and send_command counts it."""
    pubsub = redis_client.pubsub()
    pubsub.subscribe(keys.CONTROL_CHANNEL)
    try:
        confirmation = pubsub.get_message(timeout=5.0)
        assert confirmation is not None and confirmation["type"] == "subscribe"
        command = NodeCommand(type="node.restart", node="node-2", by="bob", trace="t1")
        assert send_command(redis_client, command) == 1
        message = pubsub.get_message(timeout=5.0)
        assert message is not None
        assert parse_command(message["data"]) == command
    finally:
        pubsub.close()


def test_node_id_with_trailing_newline_is_rejected():
    """A node id must not end in a newline: `$` matches before one."""
    raw = json.dumps({"type": "node.kill", "node": "node-1\n"})
    with pytest.raises(InvalidCommand, match="bad node id"):
        parse_command(raw)
