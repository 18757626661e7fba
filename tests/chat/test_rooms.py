"""Pure chat logic: names, in-order delivery, what a reconnecting client missed."""

import pytest

from archviz.chat.rooms import (
    BadInput,
    Sequencer,
    members_by_node,
    parse_after,
    validate_room,
    validate_user,
    visible_on,
)


def msg(seq: int, mode: str = "redis", node: str = "node-1") -> dict:
    return {"seq": seq, "mode": mode, "node": node, "text": f"m{seq}"}


def seqs(messages: list[dict]) -> list[int]:
    return [m["seq"] for m in messages]


@pytest.mark.parametrize("name", ["", "x" * 41, "a b", "<img>", "../x", None, 7])
def test_bad_room_names_are_refused(name) -> None:
    """Empty, over-long or odd room names raise BadInput."""
    with pytest.raises(BadInput, match="room name"):
        validate_room(name)


def test_good_room_names_pass() -> None:
    """Letters, digits, - and _ up to 40 characters are fine."""
    assert validate_room("lobby_2-b") == "lobby_2-b" and validate_room("x" * 40)


def test_user_names_fall_back_when_not_allowed() -> None:
    """A missing or odd user name becomes the fallback."""
    assert validate_user(" ana ", "g") == "ana"
    assert validate_user("<b>", "g") == validate_user("", "g") == validate_user(None, "g") == "g"


def test_after_parameter() -> None:
    """`after` is absent (new client) or a non-negative whole number."""
    assert parse_after(None) is None and parse_after("12") == 12
    with pytest.raises(BadInput):
        parse_after("-1")
    with pytest.raises(BadInput):
        parse_after("abc")


def test_in_order_messages_are_delivered_at_once() -> None:
    """Consecutive sequence numbers go straight through."""
    s = Sequencer(last=4)
    assert seqs(s.offer(msg(5)) + s.offer(msg(6))) == [5, 6]


def test_duplicates_are_suppressed_and_counted() -> None:
    """A sequence number seen before is dropped and counted."""
    s = Sequencer(last=4)
    s.offer(msg(5))
    assert s.offer(msg(5)) == [] and s.offer(msg(3)) == []
    assert s.duplicates == 2


def test_out_of_order_message_waits_for_the_missing_one() -> None:
    """6 before 5: 6 waits, and both go out in order when 5 comes."""
    s = Sequencer(last=4)
    assert s.offer(msg(6)) == [] and s.gap() == (5, 5)
    assert seqs(s.offer(msg(5))) == [5, 6] and s.gap() is None


def test_gap_filled_from_history_is_recovered_in_order() -> None:
    """A gap filled from the history delivers the missing messages first, marked recovered."""
    s = Sequencer(last=1)
    s.offer(msg(4))
    ready = s.fill({2: msg(2), 3: msg(3)})
    assert seqs(ready) == [2, 3, 4] and ready[0]["recovered"] and "recovered" not in ready[2]


def test_gap_absent_from_history_is_lost_not_silent() -> None:
    """Sequence numbers the history no longer holds are counted as lost."""
    s = Sequencer(last=1)
    s.offer(msg(5))
    ready = s.fill({4: msg(4)})
    assert seqs(ready) == [4, 5] and s.lost == 2


def test_messages_for_another_node_in_local_mode_are_skipped_not_lost() -> None:
    """None in the history means "not for this node": neither delivered nor lost."""
    s = Sequencer(last=1)
    s.offer(msg(3))
    assert seqs(s.fill({2: None})) == [3] and s.lost == 0


def test_replay_up_to_the_last_number() -> None:
    """A reconnecting client's replay settles every number up to the room's last."""
    s = Sequencer(last=2)
    assert seqs(s.fill({3: msg(3), 5: msg(5)}, up_to=5)) == [3, 5] and s.lost == 1
    assert s.last == 5


def test_local_mode_messages_skip_ahead_without_waiting() -> None:
    """In local mode other nodes' numbers never come: deliver what arrives."""
    s = Sequencer(last=1)
    assert seqs(s.offer(msg(4, "local"), strict=False)) == [4]
    assert s.offer(msg(4, "local"), strict=False) == [] and s.duplicates == 1


def test_visibility_of_stored_messages() -> None:
    """Redis-mode messages are everyone's; local-mode ones only their node's."""
    assert visible_on(msg(1), "node-2")
    assert visible_on(msg(1, "local", "node-2"), "node-2")
    assert not visible_on(msg(1, "local", "node-1"), "node-2")


def test_a_reconnecting_client_misses_what_came_after_the_number_it_saw() -> None:
    """Saw 3 of 7: 4-7 missed. Saw 7 (or more, the room was reset): nothing, from 7 on."""
    s = Sequencer()
    assert s.resume(3, 7) == (4, 7) and s.last == 3
    assert s.resume(7, 7) is None and s.last == 7
    assert s.resume(9, 7) is None and s.last == 7


@pytest.mark.parametrize(
    "kept_from, replayed, lost", [(6, [6, 7], 2), (2, [4, 5, 6, 7], 0), (None, [], 4)]
)
def test_replay_counts_what_the_capped_history_dropped(kept_from, replayed, lost) -> None:
    """Saw 3 of 7: what the history still holds is replayed, the rest counted as lost."""
    s = Sequencer()
    first, last = s.resume(3, 7)
    history = {} if kept_from is None else {n: msg(n) for n in range(kept_from, 8)}
    found = {n: m for n, m in history.items() if first <= n <= last}
    assert seqs(s.fill(found, up_to=last)) == replayed and s.lost == lost and s.last == 7


def test_members_by_node() -> None:
    """Members grouped by the node holding their connection."""
    members = {"1": {"user": "b", "node": "node-2"}, "2": {"user": "a", "node": "node-2"},
               "3": {"user": "c", "node": "node-1"}}  # fmt: skip
    assert members_by_node(members) == {"node-1": ["c"], "node-2": ["a", "b"]}


def test_settling_takes_a_message_that_came_live_meanwhile_and_leaves_nothing_pending() -> None:
    """A catch-up over numbers that are already pending delivers the live copies once."""
    s = Sequencer(last=1)
    s.offer(msg(3))
    ready = s.fill({2: msg(2), 3: msg(3)}, up_to=3)
    assert seqs(ready) == [2, 3] and "recovered" not in ready[1] and not s.pending
    assert s.offer(msg(3)) == [] and s.duplicates == 1


def test_settling_only_what_was_fetched_never_declares_later_numbers_lost() -> None:
    """The gap moved while the history was read: numbers past the fetched range wait."""
    s = Sequencer(last=4)
    s.offer(msg(6))  # gap (5, 5) is fetched…
    s.offer(msg(5))  # …5 and 6 come live meanwhile…
    s.offer(msg(8))  # …and a new gap (7, 7) opens
    assert seqs(s.fill({5: msg(5)}, up_to=5)) == [] and s.lost == 0 and s.gap() == (7, 7)
