"""The instructor's class commands, one function each way in: the lab socket's handlers
(socket.py) and the HTTP endpoint (views.py) both call `carry_out`, which checks the
permission first, so neither path can be used to skip it."""

import asyncio
from typing import Any

import redis

from archviz.classroom import rules, store
from archviz.core.instructor import ControlRefused, User, require_instructor
from archviz.core.redis_conn import shared_client
from archviz.lessons.catalogue import course
from archviz.lessons.figures import read_figures
from archviz.lessons.narration import fill, to_html

COMMANDS = ("class.goto", "class.highlight", "class.pause", "class.poll", "class.reveal")


def refused(reason: str) -> ControlRefused:
    return ControlRefused(reason, 400)


async def carry_out(user: User, command: dict[str, Any]) -> dict:
    """The class's new state after the instructor's command; ControlRefused says why not."""
    await require_instructor(user)
    kind = command.get("type")
    if kind not in COMMANDS:
        raise refused(f"unknown class command {kind!r}: one of {', '.join(COMMANDS)}")
    try:
        return await asyncio.to_thread(_carry_out, kind, command)
    except rules.BadInput as bad:
        raise refused(str(bad)) from None
    except redis.RedisError:
        raise ControlRefused("Redis is not answering: the class cannot change", 503) from None


def _carry_out(kind: str, command: dict) -> dict:
    client = shared_client()
    running = store.current(client)
    if running is None:
        raise rules.BadInput("no class is running: start one on the Class page")
    class_id = running["id"]
    if kind == "class.goto":
        where = rules.where(command.get("path"), command.get("lesson"), command.get("step"))
        return store.update(client, class_id, lambda s: _moved(s, where))
    if kind == "class.highlight":
        element = rules.highlight(command.get("element"))
        return store.update(client, class_id, lambda s: s | {"highlight": element})
    if kind == "class.pause":
        paused = command.get("paused")
        if not isinstance(paused, bool):
            raise rules.BadInput("paused must be true or false")
        return store.update(client, class_id, lambda s: s | {"paused": paused})
    if kind == "class.poll":
        poll = _question(client, command.get("lesson"), command.get("step"))
        store.clear_answers(client, class_id)
        return store.update(client, class_id, lambda s: s | {"poll": poll})
    return _reveal(client, class_id, running)


def _moved(state: dict, where: dict) -> dict:
    """A move to another step closes the question of the last one."""
    poll = state["poll"]
    same_step = poll and (poll["lesson"], poll["step"]) == (where["lesson"], where["step"])
    return state | {"where": where, "highlight": None, "poll": poll if same_step else None}


def _step(lesson_slug: object, index: object):
    lesson = course().lesson(lesson_slug) if isinstance(lesson_slug, str) else None
    if lesson is None:
        raise rules.BadInput(f"no lesson {lesson_slug!r}")
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(lesson.steps):
        raise rules.BadInput(f"{lesson.title} has {len(lesson.steps)} steps")
    return lesson, lesson.steps[index]


def _question(client: redis.Redis, lesson_slug: object, index: object) -> dict:
    lesson, step = _step(lesson_slug, index)
    if step.predict is None:
        raise rules.BadInput(f"step {index + 1} of {lesson.title} asks no question")
    return {
        "lesson": lesson.slug,
        "step": index,
        "question": step.predict.question,
        "choices": list(step.predict.choices),
        "state": "open",
        # the figures as the question opened, before the step ran: the reveal's {start:...}
        "at_start": read_figures(client, lesson.figure_names(step)),
    }


def _reveal(client: redis.Redis, class_id: str, running: dict) -> dict:
    poll = running["poll"]
    if not poll:
        raise rules.BadInput("no question is open: open the step's question first")
    lesson, step = _step(poll["lesson"], poll["step"])
    now = read_figures(client, lesson.figure_names(step))
    reveal_html = to_html(fill(step.reveal, now, poll.get("at_start", {}))) if step.reveal else ""
    counts = store.counts(client, class_id, poll["choices"])
    revealed = poll | {"state": "revealed", "counts": counts, "reveal_html": reveal_html}
    return store.update(client, class_id, lambda s: s | {"poll": revealed})
