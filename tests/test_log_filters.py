"""The terminal's logging filters: no bearer token survives into a log line."""

import logging

from archviz.log_filters import AIOHTTP_LOGGERS, REDACTED, redact_tokens

TOKEN = "eyJhbGciOiJFZERTQSIsImtpZCI6ImsxIn0.eyJzdWIiOiJ2ZXJhIn0.c2lnbmF0dXJlLXNpZw"


def record(message: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("aiohttp.websocket", logging.WARNING, __file__, 1, message, args, None)


def test_a_jwt_in_a_messages_arguments_is_replaced() -> None:
    """aiohttp's own warning, with the offered subprotocols as its argument."""
    warned = record("%s: Client protocols %r don't overlap server-known ones %r",
                    "127.0.0.1", ["bearer", TOKEN], ())  # fmt: skip
    assert redact_tokens(warned) is True
    assert TOKEN not in warned.getMessage()
    assert f"['bearer', '{REDACTED}']" in warned.getMessage()


def test_an_authorization_header_value_is_replaced() -> None:
    said = record("headers: Authorization: Bearer abc.def-ghi~/+==")
    redact_tokens(said)
    assert said.getMessage() == f"headers: Authorization: Bearer {REDACTED}"


def test_a_message_without_a_token_is_left_as_it_was() -> None:
    said = record("gateway-1: serving on http://%s:%s", "127.0.0.1", 8200)
    redact_tokens(said)
    assert (said.msg, said.args) == ("gateway-1: serving on http://%s:%s", ("127.0.0.1", 8200))


def test_a_traceback_is_redacted_too() -> None:
    said = record("failed")
    said.exc_text = f"Traceback ...\nValueError: {TOKEN}"
    redact_tokens(said)
    assert TOKEN not in said.exc_text


def test_every_aiohttp_logger_redacts_under_the_settings(caplog) -> None:
    """Django's LOGGING puts the filter on each aiohttp logger itself."""
    with caplog.at_level(logging.WARNING):
        for name in AIOHTTP_LOGGERS:
            logging.getLogger(name).warning("offered %r", ["bearer", TOKEN])
    assert len(caplog.records) == len(AIOHTTP_LOGGERS)
    assert TOKEN not in caplog.text


def test_a_sign_in_links_token_in_a_path_is_replaced() -> None:
    """Django logs a refusal with its path: a link refused by CSRF or from another machine
    still works, so its token must not reach the terminal."""
    token = "Qv1-x_Z9aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"
    said = record("Forbidden (%s): %s", "CSRF cookie not set.", f"/accounts/solo/{token}")
    redact_tokens(said)
    assert said.getMessage() == f"Forbidden (CSRF cookie not set.): /accounts/solo/{REDACTED}"
    said = record("Gone: /accounts/solo/%s?x=1", token)
    redact_tokens(said)
    assert said.getMessage() == f"Gone: /accounts/solo/{REDACTED}?x=1"
