"""The waits a lesson may write, checked on figures."""

import pytest

from archviz.lessons.conditions import InvalidCondition, parse_condition


@pytest.mark.parametrize(
    ("text", "now", "at_start", "holds"),
    [
        ("traffic.p95_ms > 300", 301, 0, True),
        ("traffic.p95_ms > 300", 300, 0, False),
        ("nodes.down >= 1", 1, 0, True),
        ("traffic.rejected == 0", 0, 5, True),
        ("traffic.rejected < 1", 2, 0, False),
        ("chat.mode == redis", "redis", "local", True),
        ("chat.mode != redis", "redis", "local", False),
        ("chat.missed rises by 5", 12, 7, True),
        ("chat.missed rises by 5", 11, 7, False),
    ],
)
def test_a_condition_holds_on_the_figures(text: str, now, at_start, holds: bool) -> None:
    assert parse_condition(text).holds(now, at_start) is holds


def test_a_condition_reads_as_written() -> None:
    assert str(parse_condition("traffic.p95_ms  >   300")) == "traffic.p95_ms > 300"
    assert str(parse_condition("traffic.p95_ms > 2.5")) == "traffic.p95_ms > 2.5"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("p95 > 300", "is not '<figure> <test> <value>'"),
        ("traffic.p95 > 300", "'traffic.p95' is not a live figure"),
        ("traffic.p95_ms > slow", "> needs a number"),
        ("chat.missed rises by lots", "rises by needs a number"),
        (42, "a condition is text"),
    ],
)
def test_a_bad_condition_says_why(text, words: str) -> None:
    with pytest.raises(InvalidCondition, match=words):
        parse_condition(text)


def test_a_condition_reads_in_words_for_a_learner() -> None:
    condition = parse_condition("traffic.rejected >= 20")
    assert condition.words("503s in the last 5 s") == "503s in the last 5 s: ≥ 20"
