"""The node's open WebSockets (issue 12): each one's role and a way to close it, which the
handshake's admission counts against ws_limit and shedding chooses from. Lives on the
node's event loop: only code running there touches it.

A socket's role comes from its query string: `?ticket=<token>` that the dashboard page signs
for a signed-in learner or instructor (`issue_ticket`); `?client=bot` marks a bot (anyone may
claim to be low priority, so that needs no proof); otherwise, or when the ticket is bad or
expired, "anonymous". A ticket is a django.core.signing token: the dashboard and the nodes
share SECRET_KEY, and the salt keeps a ticket from passing for any other signed value.
"""

import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal, get_args
from urllib.parse import parse_qs

from django.core import signing

from archviz.node.shedding import Client, Role

TICKET_SALT = "archviz.node.ticket"
TICKET_MAX_AGE_S = 12 * 3600  # a lab session; a page reloaded the next day gets a new one
TicketRole = Literal["learner", "instructor"]
TICKET_ROLES: tuple[str, ...] = get_args(TicketRole)
MAX_USER_CHARS = 150  # Django's username length

# The window a refused client is asked to come back in (its retry_after_ms): ten pressure
# reports (every 100 ms), long enough for the balancer to have seen this node's pressure and
# to send the retry to a node with headroom, short enough that a learner's tab is back
# within a second or two. A jittered client spreads over it (core/reconnect.py).
RETRY_AFTER_MS = 1000
# The window a shed client is asked to spread its return over: a shed closes many at once,
# and their handshakes cost the cluster CPU; measured with bench.overload's storm, 1,000
# handshakes at once take the lab's two cores about 1.7 s, so 3 s lets a jittered herd
# come back at about half the rate the cluster can take.
SHED_RETRY_AFTER_MS = 3000

# Send this JSON object, then close with this code (never raises: the client may be gone).
CloseWith = Callable[[dict, int], Awaitable[None]]


def pressure_now(reported: float, open_sockets: int, ws_limit: int) -> float:
    """The node's pressure for a decision now: the last report's (up to 100 ms old), or the
    websockets signal counted this instant when that is higher (a burst of handshakes
    arrives faster than the reports)."""
    return round(min(1.0, max(reported, open_sockets / max(ws_limit, 1))), 3)


def issue_ticket(role: TicketRole, user: str) -> str:
    """A signed ticket saying who opens a node socket; ValueError for a role or user that
    is not one."""
    if role not in TICKET_ROLES:
        raise ValueError(f"ticket role: {role!r} is not one of {TICKET_ROLES}")
    if not isinstance(user, str) or not 1 <= len(user) <= MAX_USER_CHARS:
        raise ValueError(f"ticket user: 1-{MAX_USER_CHARS} characters")
    return signing.dumps({"role": role, "user": user}, salt=TICKET_SALT)


def role_of(query_string: bytes) -> Role:
    """The role a socket's query string proves (a ticket) or claims (client=bot)."""
    query = parse_qs(query_string.decode("latin-1"))
    ticket = query.get("ticket", [""])[0]
    if ticket and (role := _ticket_role(ticket)) is not None:
        return role
    return "bot" if query.get("client", [""])[0] == "bot" else "anonymous"


def _ticket_role(ticket: str) -> TicketRole | None:
    try:
        payload = signing.loads(ticket, salt=TICKET_SALT, max_age=TICKET_MAX_AGE_S)
    except signing.BadSignature:  # SignatureExpired is one too
        return None
    role = payload.get("role") if isinstance(payload, dict) else None
    return role if role in TICKET_ROLES else None


@dataclass(frozen=True)
class OpenSocket:
    id: str
    opened_ms: float
    role: Role
    close: CloseWith
    unsent: Callable[[], int] = lambda: 0  # its bytes not yet taken by the client (core/serve.py)

    def client(self) -> Client:
        """What shedding.choose_shed needs of it."""
        return Client(id=self.id, opened_ms=self.opened_ms, role=self.role)


class SocketRegistry:
    """The node's admitted sockets, by id, until each disconnects or is shed."""

    def __init__(self) -> None:
        self._open: dict[str, OpenSocket] = {}
        self._next = 0

    def open(
        self, role: Role, close: CloseWith, unsent: Callable[[], int] = lambda: 0
    ) -> OpenSocket:
        """Register a newly admitted socket."""
        self._next += 1
        socket = OpenSocket(f"ws-{self._next}", time.time() * 1000, role, close, unsent)
        self._open[socket.id] = socket
        return socket

    def remove(self, socket_id: str) -> OpenSocket | None:
        """Forget a socket (it closed, or is being shed); None if it was gone already."""
        return self._open.pop(socket_id, None)

    def __len__(self) -> int:
        return len(self._open)

    def unsent_bytes(self) -> int:
        """Bytes waiting in every open socket's outgoing buffers (read by the reporter's
        thread: list() copies the sockets in one step under the GIL)."""
        return sum(socket.unsent() for socket in list(self._open.values()))

    def clients(self) -> list[Client]:
        return [socket.client() for socket in self._open.values()]

    def roles(self) -> dict[str, int]:
        """Open sockets by role."""
        return dict(Counter(socket.role for socket in self._open.values()))
