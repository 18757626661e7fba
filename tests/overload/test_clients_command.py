"""The overload clients' command (overload/control.py), pacing and counters (overload/clients.py),
in process."""

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from archviz.core.control import InvalidCommand, carried_out_by, parse_command
from archviz.overload.clients import Pacer, Rate, hello_node
from archviz.overload.control import DEFAULT_FLOOD_S, MAX_CLIENTS
from tests.conftest import HandClock


def _command(**fields: object) -> str:
    return json.dumps({"type": "overload.clients", "by": "ingrid", "trace": "t1"} | fields)


def test_a_good_command_is_parsed_with_its_envelope() -> None:
    """count, target and seconds come through, beside who asked."""
    command = parse_command(_command(count=20, target="node-2", seconds=30))
    assert command == {"type": "overload.clients", "by": "ingrid", "trace": "t1",
                       "count": 20, "target": "node-2", "seconds": 30}  # fmt: skip
    assert carried_out_by("overload.clients") == "overload clients"


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"target": "lb", "seconds": 5}, "count must be a whole number from 0 to 2000, got None"),
        ({"count": MAX_CLIENTS + 1, "target": "lb", "seconds": 5}, "count must be"),
        ({"count": -1, "target": "lb", "seconds": 5}, "count must be"),
        ({"count": True, "target": "lb", "seconds": 5}, "count must be"),
        ({"count": 2.5, "target": "lb", "seconds": 5}, "count must be"),
        ({"count": 5, "seconds": 5}, "target must be 'lb' or a node id"),
        ({"count": 5, "target": "http://evil", "seconds": 5}, "target must be"),
        ({"count": 5, "target": "Node 2", "seconds": 5}, "target must be"),
        (
            {"count": 5, "target": "lb", "seconds": None},
            "seconds must be a whole number from 1 to 120, got None",
        ),
        ({"count": 5, "target": "lb", "seconds": 0}, "seconds must be"),
        ({"count": 5, "target": "lb", "seconds": 121}, "seconds must be"),
        ({"count": 5, "target": "lb", "seconds": "10"}, "seconds must be"),
    ],
)
def test_a_bad_command_is_refused_naming_the_field(fields: dict, named: str) -> None:
    """Out of bounds, the wrong type or missing: refused, the message says which field."""
    with pytest.raises(InvalidCommand, match=named.replace("(", r"\(")):
        parse_command(_command(**fields))


def test_a_flood_without_seconds_still_ends() -> None:
    """No seconds given: the default bound, never an endless flood."""
    command = parse_command(_command(count=5, target="lb"))
    assert command["seconds"] == DEFAULT_FLOOD_S == 60


def test_the_pacer_spreads_a_herd_of_handshakes() -> None:
    """Ten clients at once at 200 a second: slots 5 ms apart; later, no wait again."""
    clock = HandClock()
    pacer = Pacer(200, clock.monotonic)
    waits = [pacer.slot() for _ in range(10)]
    assert waits == pytest.approx([i * 0.005 for i in range(10)])
    clock.now += 1
    assert pacer.slot() == 0


def test_the_rate_is_the_change_of_a_total_per_second() -> None:
    """40 more handshakes over half a second: 80 a second; the first reading is 0."""
    clock = HandClock()
    rate = Rate(clock.monotonic)
    assert rate.per_second(100) == 0
    clock.now += 0.5
    assert rate.per_second(140) == 80
    assert rate.per_second(150) == 0  # no time passed: no rate rather than a division by 0


@pytest.mark.parametrize(
    ("data", "node"),
    [
        ('{"type": "hello", "node": "node-2"}', "node-2"),
        ('{"type": "echo", "node": "node-2", "text": "hello"}', None),
        ('{"type": "hello", "node": "<script>"}', None),
        ('{"type": "hello"}', None),
        ('"hello"', None),
        ("hello", None),
    ],
)
def test_the_node_is_learnt_from_its_hello_only(data: str, node: str | None) -> None:
    """Only a well-formed hello names the node a client is on."""
    assert hello_node(data) == node


def test_without_redis_it_stops_naming_redis_url(no_redis_url: None) -> None:
    """No REDIS_URL: the clients' process says how to get one instead of failing later."""
    with pytest.raises(CommandError, match="REDIS_URL is not set"):
        call_command("overloadclients")
