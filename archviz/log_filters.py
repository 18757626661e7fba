"""Logging filters for the lab's terminal."""

import logging
import re

# A JWT's header is base64url of '{"...', so it starts with eyJ; then payload and signature.
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9\-._~+/]+=*")
REDACTED = "<token>"
# aiohttp logs on these names; a logger's own filters see only what is logged on it, not
# what its children propagate, so each is named.
AIOHTTP_LOGGERS = (
    "aiohttp.access",
    "aiohttp.client",
    "aiohttp.internal",
    "aiohttp.server",
    "aiohttp.web",
    "aiohttp.websocket",
)


def skip_refusals(record: logging.LogRecord) -> bool:
    """A 503 is a node or the LB refusing work on purpose (counted and shown on the
    dashboard), not an error: logging each would flood the terminal under load."""
    return getattr(record, "status_code", None) != 503


def redact_tokens(record: logging.LogRecord) -> bool:
    """Replace every bearer token in a record by <token>, keeping the record.

    aiohttp warns with a WebSocket's whole `Sec-WebSocket-Protocol` list when none of it is
    accepted, and a browser's token travels in that list (`bearer, <token>`): a token in a
    log is a credential anyone who reads the terminal can replay.
    """
    message = record.getMessage()
    redacted = _BEARER.sub(r"\1" + REDACTED, _JWT.sub(REDACTED, message))
    if redacted != message:
        record.msg, record.args = redacted, None
    if record.exc_text:
        record.exc_text = _JWT.sub(REDACTED, record.exc_text)
    return True
