"""A learner's progress through the course, in their own Django session (pure but for it)."""

from archviz.lessons.figures import Figure
from archviz.lessons.schema import Lesson


def _key(lesson: Lesson) -> str:
    return f"lesson:{lesson.slug}"


def _of(session, lesson: Lesson) -> dict:
    return session.get(_key(lesson)) or {"step": -1, "met": [], "answers": {}}


def _save(session, lesson: Lesson, state: dict) -> None:
    session[_key(lesson)] = state


def started(session, lesson: Lesson, index: int, at_start: dict[str, Figure], now_s: float) -> None:
    state = _of(session, lesson)
    state |= {"step": index, "at_start": at_start, "started_s": now_s, "measured": None}
    state["met"] = [i for i in state["met"] if i < index]
    _save(session, lesson, state)


def step_state(session, lesson: Lesson, index: int) -> dict | None:
    state = _of(session, lesson)
    return state if state["step"] == index and "started_s" in state else None


def met(session, lesson: Lesson, index: int, measured: dict[str, Figure]) -> None:
    state = _of(session, lesson)
    if index in state["met"]:
        return
    state["met"] = [*state["met"], index]
    state["measured"] = measured
    _save(session, lesson, state)


def answered(session, lesson: Lesson, index: int, choice: int) -> None:
    state = _of(session, lesson)
    state["answers"] = state["answers"] | {str(index): choice}
    _save(session, lesson, state)


def summary(session, lesson: Lesson) -> dict:
    """For the course's card: "new", "step 2 of 5" or "done"."""
    state = _of(session, lesson)
    total = len(lesson.steps)
    if len(state["met"]) >= total:
        return {"state": "done", "words": "done"}
    if state["step"] < 0:
        return {"state": "new", "words": f"{total} step{'' if total == 1 else 's'}"}
    return {"state": "started", "words": f"step {state['step'] + 1} of {total}"}


def panel_state(session, lesson: Lesson) -> dict:
    state = _of(session, lesson)
    return {"step": state["step"], "met": state["met"], "answers": state["answers"]}
