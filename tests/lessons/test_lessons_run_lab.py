"""Every shipped lesson, run end to end on a running lab as its instructor would run it from
the panel, in the course's order: each step's actions are accepted, each wait is met on the
live figures within the step's own time, each reveal quotes measured numbers, and every
"try it yourself" button is accepted. The lessons must work, not just parse."""

import asyncio
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from archviz.lessons.catalogue import course
from archviz.lessons.schema import Lesson
from tests.harness.clients import log_in, session
from tests.harness.lab import RunningLab
from tests.sessions.helpers import CartClient

pytestmark = pytest.mark.integration

TEACHER, PASSWORD = "lesson-teacher", "lesson-teacher-pw-7"
POLL_S = 0.5


class Panel:
    """What the lesson panel does, over HTTP with the instructor's session."""

    def __init__(self, client, base: str) -> None:
        self.client, self.base = client, base

    async def post(self, path: str) -> dict:
        csrf = next(c.value for c in self.client.cookie_jar if c.key == "csrftoken")
        async with self.client.post(self.base + path, headers={"X-CSRFToken": csrf}) as answer:
            body = await answer.json()
            assert answer.status == 200, f"{path}: {answer.status} {body}"
            return body

    async def watch(self, lesson: Lesson, index: int, learner=None) -> dict:
        step = lesson.steps[index]
        deadline = time.monotonic() + step.within_s + 5
        while True:
            if learner is not None:
                await learner()
            async with self.client.get(
                f"{self.base}/lessons/{lesson.slug}/steps/{index}/watch"
            ) as r:
                answer = await r.json()
                assert r.status == 200, answer
            if answer["met"]:
                return answer
            assert not answer["timed_out"] and time.monotonic() < deadline, (
                f"{lesson.file} step {index + 1} ({step.title}): "
                f"{' and '.join(map(str, step.until))} not met in {step.within_s:g} s; "
                f"figures {answer['figures']}"
            )
            await asyncio.sleep(POLL_S)


async def _shop(cart: CartClient) -> None:
    """What the sessions lesson asks of the learner: add an item to their cart."""
    await cart.add("apple")


# The lessons whose steps wait on what the learner does in the page, and what that is.
LEARNER = {"sessions": _shop}


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> Iterator[RunningLab]:
    """A lab as `make run` starts it: the gateway demo on (its lesson needs it) and the
    nodes' overload guards on, at the admin's defaults. (The suite's other labs have the
    guards off; the lessons must work where learners run them.)"""
    folder = Path(tmp_path_factory.mktemp("lessons-lab"))
    running = RunningLab(folder, gateway_demo=True, overload_guards=True).start()
    try:
        running.wait_for_ready(3)
        yield running
    finally:
        running.process.close(timeout=15)


@pytest.fixture(scope="module")
def teacher(lab: RunningLab) -> tuple[str, str]:
    lab.ensure_user(TEACHER, PASSWORD, instructor=True)
    lab.wait_for_ready(3)
    return TEACHER, PASSWORD


@pytest.mark.parametrize("lesson", course().lessons, ids=lambda lesson: lesson.slug)
async def test_the_lesson_runs_on_the_lab(lab: RunningLab, teacher, lesson: Lesson) -> None:
    async with session() as client:
        await log_in(client, lab.url, *teacher)
        panel = Panel(client, lab.url)
        async with client.get(f"{lab.url}/lessons/{lesson.slug}/") as page:
            assert page.status == 200 and 'id="lesson-panel"' in await page.text()
        act = LEARNER.get(lesson.slug)
        async with CartClient(lab) as cart:
            for index, step in enumerate(lesson.steps):
                await panel.post(f"/lessons/{lesson.slug}/steps/{index}/start")
                answer = await panel.watch(lesson, index, act and (lambda: act(cart)))
                if step.reveal:
                    assert "?" not in answer["reveal_html"], answer["reveal_html"]
        for index in range(len(lesson.try_it.buttons)):
            await panel.post(f"/lessons/{lesson.slug}/try/{index}")
        async with client.get(lab.url + "/") as home:
            card = re.search(
                rf'<li class="lesson-card ([^"]+)">\s*<a [^>]*href="/lessons/{lesson.slug}/"',
                await home.text(),
            )
        assert card and card.group(1) == "lesson-done", "the course card says the lesson is done"
