"""A node's pressure report as the balancer and the dashboard read it (the contract of
issue 12: keys.node_pressure(id), JSON, written by the node every 100 ms with PX 1500).

One parser, so that every reader agrees on what a report says and on what counts as none:
missing, not JSON, or a field missing or out of range is no report at all.
"""

import json
import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Report:
    """What the balancer and the page need of a node's report; fractions from 0 to 1."""

    value: float  # the node's pressure now, clamped to 1.0 by the node
    reject_above: float  # above it the node refuses new work
    shed_above: float  # above it (for a while) the node sheds clients
    ts: int  # unix ms when the node wrote it

    def has_headroom(self) -> bool:
        """Whether the node takes new work: the test is strictly "above" (1.0 = never)."""
        return self.value <= self.reject_above


def parse_report(raw: bytes | str | None) -> Report | None:
    """The report in `raw` (a GET of keys.node_pressure), or None when there is no valid one."""
    if raw is None:
        return None
    try:
        fields = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(fields, dict):
        return None
    fractions = [_fraction(fields.get(name)) for name in ("value", "reject_above", "shed_above")]
    ts = _unix_ms(fields.get("ts"))
    if None in fractions or ts is None:
        return None
    value, reject_above, shed_above = fractions
    return Report(value=value, reject_above=reject_above, shed_above=shed_above, ts=ts)


def _number(raw: object) -> float | None:
    """A finite number (bools are not numbers here), else None."""
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return None
    return float(raw) if math.isfinite(raw) else None


def _fraction(raw: object) -> float | None:
    value = _number(raw)
    return value if value is not None and 0.0 <= value <= 1.0 else None


def _unix_ms(raw: object) -> int | None:
    value = _number(raw)
    return int(value) if value is not None and value >= 0 else None
