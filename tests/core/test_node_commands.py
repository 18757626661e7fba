"""The node's control commands (archviz/core/node_commands.py): node.hog, node.balloon and
node.shed, checked at the boundary with errors that name the field."""

import json
import re

import pytest

from archviz.core.control import InvalidCommand, parse_command


def command(kind: str, **fields) -> str:
    return json.dumps({"type": kind, "by": "teacher", "trace": "t1"} | fields)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (command("node.hog", node="node-1", seconds=5), {"node": "node-1", "seconds": 5}),
        (command("node.hog", node="node-1", seconds=30), {"node": "node-1", "seconds": 30}),
        (
            command("node.balloon", node="node-2", mb=256, seconds=60),
            {"node": "node-2", "mb": 256, "seconds": 60},
        ),
        (command("node.shed", node="node-3", percent=30), {"node": "node-3", "percent": 30}),
    ],
)
def test_good_commands_parse_to_their_fields(raw: str, expected: dict) -> None:
    """The envelope plus the node and its whole numbers."""
    parsed = parse_command(raw)
    assert dict(parsed) == {"type": json.loads(raw)["type"], "by": "teacher", "trace": "t1"} | (
        expected
    )


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (command("node.hog", node="node-1", seconds=1000), "seconds must be a whole number from "
         "1 to 30, not 1000"),
        (command("node.hog", node="node-1", seconds=0), "from 1 to 30, not 0"),
        (command("node.hog", node="node-1", seconds=2.5), "not 2.5"),
        (command("node.hog", node="node-1", seconds=True), "not True"),
        (command("node.hog", node="node-1", seconds="5"), "not 5"),
        (command("node.hog", node="node-1"), "node.hog: seconds is missing"),
        (command("node.hog", seconds=5), "node.hog: node is missing"),
        (command("node.hog", node="Node 1!", seconds=5), "node 'Node 1!' is not a node id"),
        (command("node.hog", node=7, seconds=5), "node '7' is not a node id"),
        (command("node.balloon", node="node-1", mb=-1, seconds=5), "mb must be a whole number "
         "from 1 to 512, not -1"),
        (command("node.balloon", node="node-1", mb=513, seconds=5), "from 1 to 512, not 513"),
        (command("node.balloon", node="node-1", mb=64, seconds=61), "seconds must be a whole "
         "number from 1 to 60, not 61"),
        (command("node.balloon", node="node-1", seconds=5), "node.balloon: mb is missing"),
        (command("node.shed", node="node-1", percent=0), "percent must be a whole number from "
         "1 to 100, not 0"),
        (command("node.shed", node="node-1", percent=101), "from 1 to 100, not 101"),
    ],
)  # fmt: skip
def test_bad_commands_are_refused_naming_the_field(raw: str, error: str) -> None:
    """Out of bounds, not a whole number, missing, or a node that is no id: refused."""
    with pytest.raises(InvalidCommand, match=re.escape(error)):
        parse_command(raw)
