"""Where a request's token comes from: the Authorization header (RFC 6750 §2.1), and for a
WebSocket, whose browser API cannot set headers, the Sec-WebSocket-Protocol header or the
socket's first message.

The subprotocol convention: the client offers two subprotocols, `bearer` and then the
token itself (`new WebSocket(url, ["bearer", token])`; a JWT's characters are all allowed
in a subprotocol name). The server accepts by echoing `bearer`, one of those offered as
RFC 6455 §4.2.2 asks, so the token is never sent back in the handshake's answer.
The first-message convention: `{"type": "auth", "token": "<token>"}` before anything else.

Pure: each returns the token or raises tokens.TokenError (`missing` or `malformed`).
"""

import json
import re
from typing import NamedTuple

from archviz.gateway.tokens import MAX_TOKEN_CHARS, TokenError

SUBPROTOCOL = "bearer"
# RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
JWT_CHARS = re.compile(r"[A-Za-z0-9\-._]+")  # base64url segments and their dots
MAX_FIRST_MESSAGE_CHARS = 2 * MAX_TOKEN_CHARS


class WsBearer(NamedTuple):
    token: str
    subprotocol: str  # what the server's handshake answer must name


def bearer_from_header(value: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header. Another scheme (Basic, ...)
    counts as no token at all (RFC 6750 §3.1: the bare challenge answers it)."""
    if value is None or not value.strip():
        raise TokenError("missing", "no token: send Authorization: Bearer <token>")
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer":  # auth schemes are case-insensitive (RFC 9110 §11.1)
        raise TokenError("missing", f"the Authorization header's scheme is {scheme[:20]!r}, "
                                    "not Bearer")  # fmt: skip
    return _checked(token.strip(" "), B64TOKEN)


def bearer_from_subprotocols(value: str | None) -> WsBearer | None:
    """The token offered as the subprotocol after `bearer` (the header's values joined with
    commas), or None when no `bearer` is offered (the token may come in the first message)."""
    offered = [p.strip() for p in (value or "").split(",")]
    count = offered.count(SUBPROTOCOL)
    if count == 0:
        return None
    if count > 1:
        raise TokenError("malformed", "the subprotocol bearer is offered twice")
    at = offered.index(SUBPROTOCOL)
    token = offered[at + 1] if at + 1 < len(offered) else ""
    return WsBearer(_checked(token, JWT_CHARS), SUBPROTOCOL)


def bearer_from_first_message(text: str | bytes) -> str:
    """The token of a socket's first message, `{"type": "auth", "token": "<token>"}`."""
    if len(text) > MAX_FIRST_MESSAGE_CHARS:
        raise TokenError("malformed", f"the first message is over {MAX_FIRST_MESSAGE_CHARS} "
                                      "characters")  # fmt: skip
    try:
        message = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        message = None
    if not isinstance(message, dict) or message.get("type") != "auth":
        raise TokenError("missing", 'the first message must be {"type": "auth", "token": ...}')
    token = message.get("token")
    return _checked(token if isinstance(token, str) else "", JWT_CHARS)


def _checked(token: str, allowed: re.Pattern[str]) -> str:
    if not token:
        raise TokenError("malformed", "Bearer without a token")
    if len(token) > MAX_TOKEN_CHARS:
        raise TokenError("malformed", f"the token is over {MAX_TOKEN_CHARS} characters")
    if not allowed.fullmatch(token):
        raise TokenError("malformed", "the token has characters no token has")
    return token
