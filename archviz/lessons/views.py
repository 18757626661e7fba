"""The course page, and the endpoints a lesson's panel uses on its demo page: start a step
(its actions run as the instructor who asked), watch its wait on the live figures, answer
its prediction, press a "try it yourself" button. A learner's progress is kept in their
Django session."""

import json
import time

import redis
from asgiref.sync import async_to_sync
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from archviz.core.instructor import PERMISSION, ControlRefused
from archviz.core.pages import login_required, page_config
from archviz.core.redis_conn import shared_client
from archviz.lessons import progress
from archviz.lessons.catalogue import course
from archviz.lessons.figures import read_figures
from archviz.lessons.runner import steps_actions, take_actions, watch
from archviz.lessons.schema import Lesson

ONLY_INSTRUCTORS = (
    "only an instructor can run a lesson's steps: open the sign-in link that “make run” "
    "printed, or log in"
)


def course_page(request: HttpRequest) -> HttpResponse:
    """The home page: the course, lesson by lesson, with this learner's progress."""
    if response := login_required(request):
        return response
    the_course = course()
    cards = [
        {"lesson": lesson, "progress": progress.summary(request.session, lesson)}
        for lesson in the_course.lessons
    ]
    instructor = request.user.has_perm(PERMISSION)
    return render(
        request,
        "archviz/course.html",
        {
            "cards": cards,
            "problems": the_course.problems if instructor else (),
            "page_config": page_config(request),
        },
    )


def lesson_page(request: HttpRequest, slug: str) -> HttpResponse:
    """A lesson runs on its demo page, in a panel above the picture."""
    lesson = _lesson(slug)
    return redirect(f"{lesson.page}?lesson={lesson.slug}")


@require_POST
def start_step(request: HttpRequest, slug: str, index: int) -> JsonResponse:
    lesson = _lesson(slug)
    _step_or_404(lesson, index)
    if refused := _refuse_learners(request):
        return refused
    try:
        at_start = read_figures(shared_client(), lesson.figure_names(lesson.steps[index]))
        async_to_sync(take_actions)(
            request.user, steps_actions(lesson, index), _address(request), lesson, str(index)
        )
    except ControlRefused as exc:
        return JsonResponse({"error": exc.reason}, status=exc.status)
    except redis.RedisError:
        return JsonResponse({"error": "Redis is not answering: the lab cannot run"}, status=503)
    progress.started(request.session, lesson, index, at_start, time.time())
    return JsonResponse({"started": index, "at_start": at_start})


@require_GET
def watch_step(request: HttpRequest, slug: str, index: int) -> JsonResponse:
    lesson = _lesson(slug)
    step = _step_or_404(lesson, index)
    state = progress.step_state(request.session, lesson, index)
    if state is None:
        return JsonResponse({"error": f"step {index + 1} has not been started"}, status=409)
    try:
        now = read_figures(shared_client(), lesson.figure_names(step))
    except redis.RedisError:
        return JsonResponse({"error": "Redis is not answering: no live figures"}, status=503)
    seen = watch(step, now, state["at_start"], state["started_s"])
    if seen.met:
        progress.met(request.session, lesson, index, seen.figures)
    return JsonResponse(
        {
            "figures": seen.figures,
            "met": seen.met,
            "timed_out": seen.timed_out,
            "reveal_html": seen.reveal_html,
            "elapsed_s": round(time.time() - state["started_s"], 1),
        }
    )


@require_POST
def predict(request: HttpRequest, slug: str, index: int) -> JsonResponse:
    lesson = _lesson(slug)
    step = _step_or_404(lesson, index)
    if step.predict is None:
        return JsonResponse({"error": "this step asks no question"}, status=400)
    choice = _json(request).get("choice")
    if not isinstance(choice, int) or not 0 <= choice < len(step.predict.choices):
        return JsonResponse({"error": "choice must be the number of an answer"}, status=400)
    progress.answered(request.session, lesson, index, choice)
    return JsonResponse({"choice": choice})


@require_POST
def try_it(request: HttpRequest, slug: str, index: int) -> JsonResponse:
    lesson = _lesson(slug)
    if not 0 <= index < len(lesson.try_it.buttons):
        raise Http404("no such button")
    if refused := _refuse_learners(request):
        return refused
    button = lesson.try_it.buttons[index]
    try:
        async_to_sync(take_actions)(request.user, button.do, _address(request), lesson, "try")
    except ControlRefused as exc:
        return JsonResponse({"error": exc.reason}, status=exc.status)
    return JsonResponse({"done": button.label})


def _lesson(slug: str) -> Lesson:
    lesson = course().lesson(slug)
    if lesson is None:
        raise Http404(f"no lesson {slug!r}")
    return lesson


def _step_or_404(lesson: Lesson, index: int):
    if not 0 <= index < len(lesson.steps):
        raise Http404(f"{lesson.title} has {len(lesson.steps)} steps")
    return lesson.steps[index]


def _refuse_learners(request: HttpRequest) -> JsonResponse | None:
    if not request.user.has_perm(PERMISSION):
        return JsonResponse({"error": ONLY_INSTRUCTORS}, status=403)
    return None


def _json(request: HttpRequest) -> dict:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _address(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR") or "unknown"
