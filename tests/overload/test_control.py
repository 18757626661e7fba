"""The node faults' control commands (overload/control.py): each bound refused with a message
naming the field, the valid ones parsed; and the page's policy names are the node's."""

import json

import pytest

from archviz.core.control import InvalidCommand, parse_command
from archviz.node import shedding
from archviz.overload import control


def _parse(fields: dict) -> dict:
    return dict(parse_command(json.dumps(fields | {"by": "t", "trace": "x"})))


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"type": "node.hog", "node": "node-1", "seconds": 31}, "seconds"),
        ({"type": "node.hog", "node": "node-1", "seconds": 0}, "seconds"),
        ({"type": "node.hog", "node": "../etc", "seconds": 5}, "node"),
        ({"type": "node.balloon", "node": "node-1", "mb": 513, "seconds": 5}, "mb"),
        ({"type": "node.balloon", "node": "node-1", "mb": 64, "seconds": 61}, "seconds"),
        ({"type": "node.shed", "node": "node-1", "percent": 0}, "percent"),
        ({"type": "node.shed", "node": "node-1", "percent": 101}, "percent"),
        ({"type": "node.shed", "node": "node-1", "percent": True}, "percent"),
    ],
)
def test_a_value_out_of_bounds_is_refused_naming_the_field(fields: dict, named: str) -> None:
    with pytest.raises(InvalidCommand, match=rf"^{named} must"):
        _parse(fields)


def test_valid_commands_keep_their_checked_fields() -> None:
    assert _parse({"type": "node.hog", "node": "node-1", "seconds": 30})["seconds"] == 30
    balloon = _parse({"type": "node.balloon", "node": "node-3", "mb": 512, "seconds": 60})
    assert (balloon["node"], balloon["mb"], balloon["seconds"]) == ("node-3", 512, 60)
    assert _parse({"type": "node.shed", "node": "node-2", "percent": 30})["percent"] == 30


def test_the_shedding_policy_names_are_the_nodes() -> None:
    """A demo imports no other demo: the names are written twice, and agree."""
    assert control.SHED_POLICIES == shedding.SHED_POLICIES
