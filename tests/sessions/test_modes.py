"""Session modes: names, the algorithm each lesson needs, and the control command."""

import json

import pytest

from archviz.balancer.outcomes import STICKY_COOKIE as HASHED
from archviz.core.control import InvalidCommand, parse_command
from archviz.sessions.modes import DEFAULT_MODE, MODES, InvalidMode, parse_mode, stored_mode, where
from archviz.sessions.views import CART_COOKIE, STICKY_COOKIE


def test_each_mode_names_its_store_and_the_algorithm_its_lesson_needs() -> None:
    """local: memory + round robin; sticky: memory + cookie hash; redis: Redis + round robin."""
    assert {n: (m.store, m.algorithm) for n, m in MODES.items()} == {
        "local": ("memory", "round_robin"),
        "sticky": ("memory", "consistent_hash"),
        "redis": ("redis", "round_robin"),
    }


def test_unknown_modes_are_refused_naming_the_valid_ones() -> None:
    """A bad mode says which ones exist."""
    for bad in ("memcached", "", None, 3, ["redis"]):
        with pytest.raises(InvalidMode, match="local, sticky, redis"):
            parse_mode(bad)
    assert parse_mode(b"sticky") == "sticky"


def test_a_missing_or_bad_stored_mode_falls_back_to_the_default() -> None:
    """Whatever Redis holds, a node always has a mode."""
    assert stored_mode(None) == DEFAULT_MODE == "local"
    assert stored_mode(b"garbage") == DEFAULT_MODE
    assert stored_mode(b"redis") == "redis"


def test_where_names_the_nodes_memory_or_redis() -> None:
    """The trace says "node-2 memory" or "redis"."""
    assert where("memory", "node-2") == "node-2 memory"
    assert where("redis", "node-2") == "redis"


def test_the_session_mode_command_is_validated() -> None:
    """session.mode carries a valid mode; anything else is an InvalidCommand."""
    command = parse_command(json.dumps({"type": "session.mode", "mode": "redis", "by": "t"}))
    assert command == {"type": "session.mode", "mode": "redis", "by": "t", "trace": ""}
    with pytest.raises(InvalidCommand, match="unknown session mode"):
        parse_command(json.dumps({"type": "session.mode", "mode": "disk"}))


def test_the_node_sets_the_cookie_the_lb_hashes() -> None:
    """The sticky cookie the cart sets is the one the balancer's consistent hash reads."""
    assert STICKY_COOKIE == HASHED and CART_COOKIE not in ("sessionid", "csrftoken")
