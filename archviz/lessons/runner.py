"""Running a lesson on the live lab: its actions go through the lab socket's own handlers,
as the instructor who runs it (so they are checked exactly like a page's), and its waits
read the live figures from Redis."""

import asyncio
import logging
import time
from dataclasses import dataclass

import redis

from archviz.core import labsocket, recording_markers, set_by
from archviz.core.instructor import User
from archviz.core.redis_conn import shared_client
from archviz.lessons.figures import Figure
from archviz.lessons.narration import fill, to_html
from archviz.lessons.schema import Lesson, Step

log = logging.getLogger(__name__)


async def take_actions(
    user: User, frames: tuple[dict, ...], address: str, lesson: Lesson, part: str
) -> None:
    """Each frame as if a page had sent it on the lab socket; ControlRefused says why not.
    What it changes says it was set in this lesson (`part`: its step or "try")."""
    caller = labsocket.Caller(
        f"lesson:{lesson.slug}/{part}", address, set_by.lesson_page(lesson.title)
    )
    with labsocket.calling_as(caller):
        for frame in frames:
            await labsocket.handler_for(frame["type"])(user, dict(frame))
    await _mark(user, lesson, part)


async def _mark(user: User, lesson: Lesson, part: str) -> None:
    """The step on the flight recorder's timeline; a marker lost to Redis is only logged."""
    step = str(int(part) + 1) if part.isdigit() else part
    by = user.get_username() if user.is_authenticated else "someone"
    try:
        await asyncio.to_thread(
            recording_markers.lesson_step,
            shared_client(),
            lesson.title,
            step,
            by,
            time.time() * 1000,
        )
    except redis.RedisError as exc:
        log.warning("lesson step not marked on the recording: %s", exc)


def steps_actions(lesson: Lesson, index: int) -> tuple[dict, ...]:
    """What starting step `index` does: the first step sets up the lesson's known state."""
    return (lesson.setup if index == 0 else ()) + lesson.steps[index].do


@dataclass(frozen=True)
class Watch:
    figures: dict[str, Figure]
    met: bool
    timed_out: bool
    reveal_html: str  # "" until met


def watch(
    step: Step, now: dict[str, Figure], at_start: dict[str, Figure], started_s: float
) -> Watch:
    """Whether the step's wait is met by the figures now (pure but for the clock)."""
    met = all(c.holds(now[c.figure], at_start.get(c.figure, 0)) for c in step.until)
    timed_out = not met and time.time() - started_s > step.within_s
    reveal = to_html(fill(step.reveal, now, at_start)) if met and step.reveal else ""
    return Watch(now, met, timed_out, reveal)
