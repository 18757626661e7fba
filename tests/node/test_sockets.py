"""A node socket's role from its query string (signed tickets, bots), the registry of open
sockets, and the pressure a handshake or a shed decides on."""

import time
from urllib.parse import quote

import pytest
from django.core import signing

from archviz.node.sockets import (
    TICKET_MAX_AGE_S,
    TICKET_SALT,
    SocketRegistry,
    issue_ticket,
    pressure_now,
    role_of,
)


def _query(**params: str) -> bytes:
    return "&".join(f"{k}={quote(v)}" for k, v in params.items()).encode()


async def _no_close(message: dict, code: int) -> None:
    """A registry entry's close, unused here."""


@pytest.mark.parametrize("role", ["learner", "instructor"])
def test_a_ticket_gives_its_role(role):
    """A ticket the dashboard signed is the role it names."""
    assert role_of(_query(ticket=issue_ticket(role, "lena"))) == role


def test_a_ticket_outranks_a_bot_claim():
    """A valid ticket wins over client=bot (the tab proved who it is)."""
    ticket = issue_ticket("instructor", "ingrid")
    assert role_of(_query(ticket=ticket, client="bot")) == "instructor"


def test_client_bot_is_a_bot_and_nothing_is_anonymous():
    """Anyone may claim to be a bot; without a claim or ticket a socket is anonymous."""
    assert role_of(_query(client="bot")) == "bot"
    assert role_of(b"") == "anonymous"
    assert role_of(_query(client="instructor")) == "anonymous"


def test_an_expired_ticket_is_anonymous(monkeypatch):
    """A ticket older than 12 h proves nothing any more."""
    old = int(time.time()) - TICKET_MAX_AGE_S - 60
    monkeypatch.setattr(signing.TimestampSigner, "timestamp", lambda self: signing.b62_encode(old))
    expired = issue_ticket("instructor", "ingrid")
    monkeypatch.undo()
    assert role_of(_query(ticket=expired)) == "anonymous"


@pytest.mark.parametrize(
    "ticket",
    [
        "nonsense",
        issue_ticket("instructor", "ingrid")[:-2] + "xx",  # tampered with
        signing.dumps({"role": "instructor", "user": "x"}, salt="another.salt"),
        signing.dumps({"role": "admin", "user": "x"}, salt=TICKET_SALT),
        signing.dumps(["instructor"], salt=TICKET_SALT),
    ],
    ids=["not-signed", "tampered", "other-salt", "unknown-role", "not-an-object"],
)
def test_a_bad_ticket_is_anonymous(ticket):
    """A ticket that is not ours, or not a role we give, counts as no ticket."""
    assert role_of(_query(ticket=ticket)) == "anonymous"
    assert role_of(_query(ticket=ticket, client="bot")) == "bot"


@pytest.mark.parametrize(("role", "user"), [("bot", "b"), ("anonymous", "a"), ("learner", "")])
def test_issue_ticket_refuses_what_it_cannot_sign(role, user):
    """Only learners and instructors with a name get a ticket."""
    with pytest.raises(ValueError, match="ticket"):
        issue_ticket(role, user)


def test_the_registry_counts_roles_and_forgets_each_socket_once():
    """Sockets get distinct ids and ages; removing one twice is harmless."""
    registry = SocketRegistry()
    bot = registry.open("bot", _no_close)
    instructor = registry.open("instructor", _no_close)
    registry.open("bot", _no_close)
    assert len(registry) == 3 and bot.id != instructor.id
    assert bot.opened_ms <= instructor.opened_ms
    assert registry.roles() == {"bot": 2, "instructor": 1}
    assert registry.remove(bot.id) is bot and registry.remove(bot.id) is None
    assert {c.role for c in registry.clients()} == {"bot", "instructor"}
    assert len(registry) == 2


@pytest.mark.parametrize(
    ("reported", "sockets", "limit", "expected"),
    [(0.0, 8, 10, 0.8), (0.93, 8, 10, 0.93), (0.2, 30, 10, 1.0), (0.0, 0, 500, 0.0)],
)
def test_pressure_now_is_the_report_or_the_live_socket_count(reported, sockets, limit, expected):
    """The websockets signal counted now overrides an older, lower report; clamped to 1."""
    assert pressure_now(reported, sockets, limit) == expected


def test_the_registry_sums_the_bytes_waiting_in_every_open_socket() -> None:
    """The outgoing-buffers signal: what each socket's clients have not taken, together; a
    socket that closed no longer counts."""

    async def close(message: dict, code: int) -> None: ...

    registry = SocketRegistry()
    slow = registry.open("bot", close, lambda: 3_000_000)
    registry.open("learner", close, lambda: 500)
    registry.open("anonymous", close)  # no reader given: nothing counted
    assert registry.unsent_bytes() == 3_000_500
    registry.remove(slow.id)
    assert registry.unsent_bytes() == 500
