"""What a step waits for, written as the lesson's author would say it, on one live figure:
`traffic.p95_ms > 300`, `nodes.down >= 1`, `chat.mode == redis`, `chat.missed rises by 5`
(by 5 from its value when the step began). Pure: parsed once, checked on figures."""

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

from archviz.lessons.figures import Figure, known

_COMPARISONS: dict[str, Callable[[object, object], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}
_PATTERN = re.compile(r"^\s*([a-z_]+\.[a-z_0-9]+)\s+(>=|<=|==|!=|>|<|rises by)\s+(\S+)\s*$")


class InvalidCondition(ValueError):
    """Not a condition a lesson may wait for; the message says why."""


@dataclass(frozen=True)
class Condition:
    figure: str
    test: str  # one of _COMPARISONS, or "rises by"
    value: float | str

    def holds(self, now: Figure, at_start: Figure) -> bool:
        if self.test == "rises by":
            return _number(now) - _number(at_start) >= float(self.value)
        return _COMPARISONS[self.test](now, self.value)

    def words(self, says: str) -> str:
        """The condition as a learner reads it, given what its figure is."""
        test = {">=": "≥", "<=": "≤", "==": "=", "!=": "≠"}.get(self.test, self.test)
        return f"{says}: {test} {_shown(self.value)}"

    def __str__(self) -> str:
        return f"{self.figure} {self.test} {_shown(self.value)}"


def _shown(value: float | str) -> str:
    return f"{value:g}" if isinstance(value, float) else value


def _number(value: Figure) -> float:
    return float(value) if isinstance(value, int | float) else 0.0


def parse_condition(text: object) -> Condition:
    if not isinstance(text, str):
        raise InvalidCondition("a condition is text, like 'traffic.p95_ms > 300'")
    match = _PATTERN.match(text)
    if not match:
        raise InvalidCondition(
            f"{text!r} is not '<figure> <test> <value>' (tests: "
            f"{', '.join(_COMPARISONS)}, rises by)"
        )
    name, test, raw = match.groups()
    if name not in known():
        raise InvalidCondition(f"{name!r} is not a live figure (figures: {', '.join(known())})")
    try:
        value: float | str = float(raw)
    except ValueError:
        if test not in ("==", "!="):
            raise InvalidCondition(f"{test} needs a number, not {raw!r}") from None
        value = raw
    return Condition(name, test, value)
