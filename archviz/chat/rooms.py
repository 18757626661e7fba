"""Chat rooms' pure logic: names, in-order delivery without duplicates, what a
reconnecting client missed, and the presence timings. No I/O here: presence expiry is one
atomic step in Redis (archviz/chat/store.py), the frames are in archviz/chat/messages.py."""

import re
from collections import deque
from dataclasses import dataclass, field

from archviz.chat.control import CHAT_ROOM

USER_NAME = re.compile(r"[\w .-]{1,32}")
PRESENCE_BEAT_S = 0.5  # each node refreshes its connections this often
PRESENCE_TTL_MS = 3_000  # a connection not refreshed for this long is offline
RECENT_ON_JOIN = 20  # messages a new client is shown when it joins
RECENT_KEPT = 256  # local mode: delivered numbers remembered to suppress duplicates
ROOMS_MAX = 100  # rooms at once: joining a new one past this is refused (ROOMS_FULL)
ROOM_IDLE_MS = 10 * 60_000  # a room with no member and no message this long is removed


class BadInput(ValueError):
    """A room name or URL parameter we refuse; the message says why, for the client."""


def validate_room(name: object) -> str:
    if not isinstance(name, str) or not CHAT_ROOM.fullmatch(name):
        raise BadInput("bad room name: 1-40 letters, digits, - or _")
    return name


def validate_user(name: object, fallback: str) -> str:
    """The user's display name, or the fallback when it is missing or not allowed."""
    if isinstance(name, str) and USER_NAME.fullmatch(name.strip()):
        return name.strip()
    return fallback


def parse_after(raw: object) -> int | None:
    """The last sequence number a reconnecting client saw; None for a new client."""
    if raw in (None, ""):
        return None
    try:
        after = int(raw)
    except (TypeError, ValueError):
        raise BadInput("after must be a whole number") from None
    if after < 0:
        raise BadInput("after must not be negative")
    return after


def visible_on(entry: dict, node: str) -> bool:
    """Whether a stored message belongs in this node's view of the room: in local mode a
    node knows only its own messages, so another node's local message is not replayed."""
    return entry.get("mode") == "redis" or entry.get("node") == node


@dataclass
class Sequencer:
    """One connection's room messages: delivered in sequence order, each once.

    Redis-mode messages may arrive out of order (two nodes publish at once) or not at
    all (a broken subscription): a later one waits in `pending` until the gap is filled
    from the history or declared lost. Local-mode messages are delivered as they come,
    since other nodes' sequence numbers never arrive here.
    """

    last: int = 0
    pending: dict[int, dict] = field(default_factory=dict)
    recent: set[int] = field(default_factory=set)  # local mode: numbers delivered lately
    _order: deque = field(default_factory=deque)
    duplicates: int = 0
    lost: int = 0

    def offer(self, message: dict, *, strict: bool = True) -> list[dict]:
        """The messages ready to deliver now (possibly none) after this one arrived."""
        seq = message["seq"]
        if seq == self.last + 1 and not self.pending and strict:  # the usual case, first
            self.last = seq
            return [message]
        if (strict and seq <= self.last) or seq in self.pending or seq in self.recent:
            self.duplicates += 1
            return []
        if not strict or seq == self.last + 1:
            ready = [self._take(message)]
            return ready + self._drain()
        self.pending[seq] = message
        return []

    def resume(self, after: int, last_seq: int) -> tuple[int, int] | None:
        """Start after the last number a reconnecting client saw (never past the room's
        last); returns the first and last numbers it missed, if it missed any."""
        self.last = min(after, last_seq)
        return (after + 1, last_seq) if after < last_seq else None

    def gap(self) -> tuple[int, int] | None:
        """The first and last sequence numbers still missing before a pending message."""
        if not self.pending:
            return None
        return self.last + 1, min(self.pending) - 1

    def fill(self, found: dict[int, dict | None], up_to: int | None = None) -> list[dict]:
        """Settle every sequence number up to `up_to` (default: the current gap) with what
        the history held: a message, None (not for this node), or absent (trimmed: lost).
        Returns the messages ready to deliver, in order."""
        gap = self.gap()
        end = up_to if up_to is not None else (gap[1] if gap else self.last)
        ready = []
        for seq in range(self.last + 1, end + 1):
            if seq in self.pending:  # it came live meanwhile
                ready.append(self._take(self.pending.pop(seq)))
            elif found.get(seq) is not None:
                ready.append(self._take(found[seq] | {"recovered": True}))
            else:
                self.lost += seq not in found
                self.last = seq
        return ready + self._drain()

    def _take(self, message: dict) -> dict:
        self.last = max(self.last, message["seq"])
        if message.get("mode") != "redis":  # only local mode skips ahead, so needs these
            self.recent.add(message["seq"])
            self._order.append(message["seq"])
            if len(self._order) > RECENT_KEPT:
                self.recent.discard(self._order.popleft())
        return message

    def _drain(self) -> list[dict]:
        ready = []
        while self.last + 1 in self.pending:
            ready.append(self._take(self.pending.pop(self.last + 1)))
        return ready


def rooms_by_activity(members: dict[str, int], last_message: dict[str, float]) -> list[str]:
    """Room names, the most members first, then the most recent message, then by name."""
    return sorted(members, key=lambda r: (-members[r], -last_message.get(r, 0.0), r))


def members_by_node(members: dict[str, dict]) -> dict[str, list[str]]:
    """Room members grouped by the node that holds their connection (users sorted)."""
    nodes: dict[str, list[str]] = {}
    for info in members.values():
        nodes.setdefault(info.get("node", "?"), []).append(info.get("user", "?"))
    return {node: sorted(users) for node, users in sorted(nodes.items())}
