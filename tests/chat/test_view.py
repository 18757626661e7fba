"""What the chat page is shown, from raw Redis replies, and the bots' stored settings."""

import json

from archviz.chat.bots import parse_bot_settings
from archviz.chat.view import room_view


def test_room_view_groups_members_by_node_and_fills_the_ledger() -> None:
    """Members carry their last heartbeat; every ledger counter is present."""
    members = {b"node-1.a": json.dumps({"user": "ann", "node": "node-1"}).encode(),
               b"node-2.b": json.dumps({"user": "bo", "node": "node-2"}).encode()}  # fmt: skip
    view = room_view("lobby", members, [(b"node-1.a", 10.0)], {b"sent": b"4"}, b"4",
                     [(b"chan", 2)])  # fmt: skip
    assert view["nodes"] == {"node-1": ["ann"], "node-2": ["bo"]}
    assert view["members"][0] == {"conn": "node-1.a", "user": "ann", "node": "node-1",
                                  "last_seen": 10.0}  # fmt: skip
    assert view["members"][1]["last_seen"] is None
    assert view["ledger"]["sent"] == 4 and view["ledger"]["lost"] == 0
    assert view["seq"] == 4 and view["redis_subscribers"] == 2


def test_bot_settings_keep_only_valid_rooms_and_counts() -> None:
    """Bad JSON, bad room names and counts out of range are dropped, not fatal."""
    assert parse_bot_settings(b"{nope") == {} and parse_bot_settings(None) == {}
    raw = json.dumps({"lobby": 3, "bad room": 2, "big": 999, "zero": 0, "x": "2"})
    assert parse_bot_settings(raw) == {"lobby": 3}
