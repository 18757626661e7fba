"""The one parser of a node's pressure report (keys.node_pressure)."""

import json

import pytest

from archviz.core import keys
from archviz.core.pressure_report import Report, parse_report

GOOD = {
    "value": 0.93,
    "dominant": "cpu_percent",
    "ts": 1_700_000_000_000,
    "reject_above": 0.8,
    "shed_above": 0.95,
    "websockets": 412,
    "ws_limit": 500,
}


def test_a_full_report_is_parsed_and_extra_fields_are_ignored() -> None:
    """The contract's example report gives its value, thresholds and time."""
    report = parse_report(json.dumps(GOOD).encode())
    assert report == Report(value=0.93, reject_above=0.8, shed_above=0.95, ts=1_700_000_000_000)


def test_a_str_parses_like_bytes() -> None:
    """A client that decodes responses hands in str: the same report."""
    assert parse_report(json.dumps(GOOD)) == parse_report(json.dumps(GOOD).encode())


def test_integer_fractions_and_a_float_timestamp_are_numbers_too() -> None:
    """0 and 1 written as ints, and a ts in float ms, are valid."""
    report = parse_report(json.dumps(GOOD | {"value": 1, "reject_above": 1, "ts": 12.7}))
    assert report == Report(value=1.0, reject_above=1.0, shed_above=0.95, ts=12)


@pytest.mark.parametrize(
    "raw",
    [
        None,
        b"",
        b"not json",
        b"\xff\xfe",
        b"[0.5]",
        b"0.5",
        b"null",
    ],
)
def test_missing_or_malformed_is_no_report(raw: bytes | None) -> None:
    """No key, or something that is not a JSON object, is no report."""
    assert parse_report(raw) is None


@pytest.mark.parametrize("field", ["value", "reject_above", "shed_above", "ts"])
def test_a_missing_field_is_no_report(field: str) -> None:
    """Each of the four fields is required."""
    fields = {k: v for k, v in GOOD.items() if k != field}
    assert parse_report(json.dumps(fields)) is None


@pytest.mark.parametrize("field", ["value", "reject_above", "shed_above"])
@pytest.mark.parametrize("bad", [-0.01, 1.01, "0.5", True, None, [0.5]])
def test_a_fraction_out_of_range_or_not_a_number_is_no_report(field: str, bad: object) -> None:
    """Pressure and thresholds are numbers from 0 to 1; anything else is no report."""
    assert parse_report(json.dumps(GOOD | {field: bad})) is None


@pytest.mark.parametrize("bad", [-1, "1700000000000", False, None])
def test_a_bad_timestamp_is_no_report(bad: object) -> None:
    """ts is a non-negative number of unix ms."""
    assert parse_report(json.dumps(GOOD | {"ts": bad})) is None


def test_nan_is_no_report() -> None:
    """Python's json reads NaN; it is no pressure."""
    assert parse_report(b'{"value": NaN, "reject_above": 0.8, "shed_above": 0.9, "ts": 1}') is None


@pytest.mark.parametrize(
    ("value", "reject_above", "headroom"),
    [(0.0, 0.8, True), (0.8, 0.8, True), (0.81, 0.8, False), (1.0, 1.0, True)],
)
def test_headroom_is_strictly_above_the_threshold(
    value: float, reject_above: float, headroom: bool
) -> None:
    """At the threshold a node still takes work; 1.0 (100 %) means it never refuses."""
    assert Report(value, reject_above, 1.0, 0).has_headroom() is headroom


def test_the_key_is_under_the_pressure_prefix() -> None:
    assert keys.node_pressure("node-2") == "archviz:pressure:node-2"
