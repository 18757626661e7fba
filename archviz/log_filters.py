"""Logging filters for the lab's terminal."""

import logging


def skip_refusals(record: logging.LogRecord) -> bool:
    """A 503 is a node or the LB refusing work on purpose (counted and shown on the
    dashboard), not an error: logging each would flood the terminal under load."""
    return getattr(record, "status_code", None) != 503
