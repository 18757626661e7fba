"""Logging filters for the lab's terminal."""

import logging
import re

# A JWT's header is base64url of '{"...', so it starts with eyJ; then payload and signature.
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9\-._~+/]+=*")
# A sign-in link's token (archviz/core/signin_links.py) is in its path, which Django logs
# with a refusal ("Forbidden (CSRF cookie not set.): /accounts/solo/<token>"); a link refused
# from another machine, or before Redis was back, still works.
_SIGNIN_PATH = re.compile(r"(/accounts/solo/)[^\s/?#'\"]+")
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
    """Replace every bearer token and sign-in link's token in a record by <token>, keeping
    the record.

    aiohttp warns with a WebSocket's whole `Sec-WebSocket-Protocol` list when none of it is
    accepted, and a browser's token travels in that list (`bearer, <token>`): a token in a
    log is a credential anyone who reads the terminal can replay.
    """
    message = record.getMessage()
    redacted = _redacted(message)
    if redacted != message:
        record.msg, record.args = redacted, None
    if record.exc_text:
        record.exc_text = _redacted(record.exc_text)
    return True


def _redacted(text: str) -> str:
    text = _BEARER.sub(r"\1" + REDACTED, _JWT.sub(REDACTED, text))
    return _SIGNIN_PATH.sub(r"\1" + REDACTED, text)
