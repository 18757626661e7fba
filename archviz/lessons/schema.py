"""A lesson file's shape, checked when the lab starts: every problem names the file, the line
and what is wrong, so an instructor can fix a lesson they dropped in the folder."""

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from archviz.core.frames import InvalidFrame
from archviz.core.labsocket import parse_request
from archviz.lessons.conditions import Condition, InvalidCondition, parse_condition
from archviz.lessons.figures import known
from archviz.lessons.narration import placeholders, to_html
from archviz.lessons.yamlfile import Located, YamlError, read_yaml

MAX_WAIT_S = 120
MAX_STEPS = 20
_LESSON_KEYS = {"title", "teaches", "minutes", "order", "page", "setup", "steps", "try_it"}


class LessonError(ValueError):
    def __init__(self, file: str, line: int, problem: str) -> None:
        super().__init__(f"{file}:{line}: {problem}" if line else f"{file}: {problem}")
        self.file, self.line, self.problem = file, line, problem


@dataclass(frozen=True)
class Predict:
    question: str
    choices: tuple[str, ...]


@dataclass(frozen=True)
class Step:
    title: str
    say: str  # Markdown
    say_html: str
    do: tuple[dict, ...]  # lab-socket frames, as a page would send them
    until: tuple[Condition, ...]  # all must hold; () for none
    within_s: float
    show: tuple[str, ...]  # the figures the page shows live during the step
    predict: Predict | None
    reveal: str  # Markdown with {figure} placeholders; "" for none


@dataclass(frozen=True)
class Button:
    label: str
    do: tuple[dict, ...]


@dataclass(frozen=True)
class TryIt:
    say_html: str
    buttons: tuple[Button, ...]


@dataclass(frozen=True)
class Lesson:
    slug: str
    order: int
    title: str
    teaches: str
    minutes: int
    page: str  # the demo page the lesson runs on
    setup: tuple[dict, ...]
    steps: tuple[Step, ...]
    try_it: TryIt
    file: str

    def figure_names(self, step: Step) -> set[str]:
        names = set(step.show) | placeholders(step.reveal)
        return names | {condition.figure for condition in step.until}


class _Reader:
    """Reads one file's values by path, raising LessonError at the value's line."""

    def __init__(self, file: str, located: Located) -> None:
        self.file, self.located = file, located

    def fail(self, path: tuple, problem: str) -> LessonError:
        return LessonError(self.file, self.located.line_of(path), problem)

    def get(self, path: tuple) -> object:
        value = self.located.value
        for part in path:
            value = value[part]  # type: ignore[index]
        return value

    def has(self, path: tuple) -> bool:
        *parent, last = path
        holder = self.get(tuple(parent))
        return isinstance(holder, dict) and last in holder

    def mapping(self, path: tuple, allowed: set[str], required: set[str]) -> dict:
        value = self.get(path)
        where = " of " + "/".join(map(str, path)) if path else ""
        if not isinstance(value, dict):
            raise self.fail(path, f"expected a mapping{where}")
        for key in value:
            if key not in allowed:
                raise self.fail(
                    (*path, key), f"unknown key {key!r} (keys: {', '.join(sorted(allowed))})"
                )
        for key in sorted(required - set(value)):
            raise self.fail(path, f"missing {key!r}{where}")
        return value

    def _checked(self, path: tuple, default: object, valid: Callable[[object], bool], problem: str):
        """The value at `path` if `valid` holds for it; `default` if it is optional (a default
        given) and absent; else the problem, at its line."""
        if default is not None and not self.has(path):
            return default
        value = self.get(path)
        if not valid(value):
            raise self.fail(path, problem)
        return value

    def text(self, path: tuple, default: str | None = None) -> str:
        def is_text(value: object) -> bool:
            return isinstance(value, str) and bool(value.strip())

        return self._checked(path, default, is_text, f"{path[-1]} must be text").strip()

    def number(self, path: tuple, low: float, high: float, default: float | None = None) -> float:
        def in_range(value: object) -> bool:
            return (
                not isinstance(value, bool)
                and isinstance(value, int | float)
                and low <= value <= high
            )

        problem = f"{path[-1]} must be a number from {low:g} to {high:g}"
        return self._checked(path, default, in_range, problem)

    def items(self, path: tuple, *, required: bool = False) -> list:
        if not self.has(path):
            if required:
                raise self.fail(path[:-1], f"missing {path[-1]!r}")
            return []
        value = self.get(path)
        if not isinstance(value, list) or (required and not value):
            raise self.fail(
                path, f"{path[-1]} must be a list" + (" of at least one" if required else "")
            )
        return value

    def actions(self, path: tuple, *, required: bool = False) -> tuple[dict, ...]:
        frames = []
        for i, frame in enumerate(self.items(path, required=required)):
            try:
                frames.append(parse_request(json.dumps(frame)))
            except (InvalidFrame, TypeError) as exc:
                raise self.fail((*path, i), f"not an action the lab takes: {exc}") from None
        return tuple(frames)


def parse_lesson(file: Path, text: str) -> Lesson:
    """The lesson in `text` (the file `file`), checked; else LessonError."""
    name = file.name
    try:
        located = read_yaml(text)
    except YamlError as exc:
        raise LessonError(name, exc.line, exc.problem) from None
    r = _Reader(name, located)
    r.mapping((), _LESSON_KEYS, _LESSON_KEYS)
    page = r.text(("page",))
    if not (page.startswith("/") and page.endswith("/")):
        raise r.fail(("page",), "page must be a path of the lab, like /lb/")
    steps = r.items(("steps",), required=True)
    if len(steps) > MAX_STEPS:
        raise r.fail(("steps",), f"at most {MAX_STEPS} steps")
    return Lesson(
        slug=file.stem,
        order=int(r.number(("order",), 0, 10_000)),
        title=r.text(("title",)),
        teaches=r.text(("teaches",)),
        minutes=int(r.number(("minutes",), 1, 120)),
        page=page,
        # the failure first: a lesson sets up the state it starts from itself
        setup=r.actions(("setup",), required=True),
        steps=tuple(_step(r, ("steps", i)) for i in range(len(steps))),
        try_it=_try_it(r),
        file=name,
    )


def _step(r: _Reader, path: tuple) -> Step:
    r.mapping(path, {"title", "say", "do", "wait", "show", "predict", "reveal"}, {"title", "say"})
    until, within_s = (), 0.0
    if r.has((*path, "wait")):
        r.mapping((*path, "wait"), {"until", "within_s"}, {"until"})
        until = _conditions(r, (*path, "wait", "until"))
        within_s = r.number((*path, "wait", "within_s"), 1, MAX_WAIT_S, default=30)
    show = tuple(r.items((*path, "show")))
    for i, name in enumerate(show):
        if name not in known():
            raise r.fail((*path, "show", i), f"{name!r} is not a live figure")
    reveal = r.text((*path, "reveal"), default="")
    for name in placeholders(reveal):
        if name not in known():
            raise r.fail((*path, "reveal"), f"{{{name}}} is not a live figure")
    if reveal and not until:
        raise r.fail((*path, "reveal"), "a reveal needs a wait: it quotes what the run measured")
    say = r.text((*path, "say"))
    return Step(
        title=r.text((*path, "title")),
        say=say,
        say_html=to_html(say),
        do=r.actions((*path, "do")),
        until=until,
        within_s=within_s,
        show=show,
        predict=_predict(r, (*path, "predict")) if r.has((*path, "predict")) else None,
        reveal=reveal,
    )


def _conditions(r: _Reader, path: tuple) -> tuple[Condition, ...]:
    """One condition, or a list of them that must all hold."""
    given = r.get(path)
    texts = given if isinstance(given, list) else [given]
    conditions = []
    for i, text in enumerate(texts):
        try:
            conditions.append(parse_condition(text))
        except InvalidCondition as exc:
            raise r.fail((*path, i) if isinstance(given, list) else path, str(exc)) from None
    if not conditions:
        raise r.fail(path, "until needs a condition")
    return tuple(conditions)


def _predict(r: _Reader, path: tuple) -> Predict:
    r.mapping(path, {"question", "choices"}, {"question", "choices"})
    choices = r.items((*path, "choices"), required=True)
    if not 2 <= len(choices) <= 5 or not all(isinstance(c, str) and c.strip() for c in choices):
        raise r.fail((*path, "choices"), "choices must be 2 to 5 answers, as text")
    return Predict(r.text((*path, "question")), tuple(c.strip() for c in choices))


def _try_it(r: _Reader) -> TryIt:
    r.mapping(("try_it",), {"say", "buttons"}, {"say", "buttons"})
    buttons = []
    for i, _button in enumerate(r.items(("try_it", "buttons"), required=True)):
        path = ("try_it", "buttons", i)
        r.mapping(path, {"label", "do"}, {"label", "do"})
        buttons.append(Button(r.text((*path, "label")), r.actions((*path, "do"), required=True)))
    return TryIt(to_html(r.text(("try_it", "say"))), tuple(buttons))
