"""`manage.py node` called in this process: what stops it before it serves."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from archviz.core.ports import free_port


def test_without_redis_it_stops_naming_redis_url(no_redis_url: None) -> None:
    """No REDIS_URL: the node says how to get one instead of failing later."""
    with pytest.raises(CommandError, match="REDIS_URL is not set"):
        call_command("node", id="node-1", port=free_port("127.0.0.1"))


def test_its_id_and_port_are_required() -> None:
    """A node is always started with its id and port; without them it names both."""
    with pytest.raises(CommandError, match="the following arguments are required: --id, --port"):
        call_command("node")


@pytest.mark.parametrize("bad", ["Node 1", "", "_node", "node:1", "n" * 41, "../etc"])
def test_a_bad_id_is_refused_before_anything_starts(bad: str) -> None:
    """The id names Redis keys and registry entries: only the shape the lab uses is taken."""
    with pytest.raises(CommandError, match="bad --id"):
        call_command("node", id=bad, port=free_port("127.0.0.1"))
