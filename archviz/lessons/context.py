"""The lesson panel a demo page shows when it is opened as `<page>?lesson=<slug>`."""

from django.http import HttpRequest
from django.urls import reverse

from archviz.core.instructor import PERMISSION
from archviz.lessons import progress
from archviz.lessons.catalogue import course
from archviz.lessons.figures import known
from archviz.lessons.schema import Lesson


def lesson_panel(request: HttpRequest) -> dict:
    slug = request.GET.get("lesson") if request.method == "GET" else None
    the_course = course() if slug else None
    lesson = the_course.lesson(slug) if the_course else None
    if lesson is None or request.path != lesson.page:
        return {}
    following = the_course.after(lesson)
    return {"lesson_panel": panel(lesson, following, request)}


def panel(lesson: Lesson, following: Lesson | None, request: HttpRequest) -> dict:
    """Everything the panel's script draws, as JSON (the HTML parts already sanitised)."""
    figures = known()
    names = set().union(*(lesson.figure_names(step) for step in lesson.steps))
    return {
        "figure_words": {name: figures[name] for name in sorted(names)},
        "slug": lesson.slug,
        "title": lesson.title,
        "number": course().lessons.index(lesson) + 1,
        "of": len(course().lessons),
        "instructor": request.user.has_perm(PERMISSION),
        "steps": [
            {
                "title": step.title,
                "say_html": step.say_html,
                "until": [
                    {"text": str(c), "figure": c.figure, "words": c.words(figures[c.figure])}
                    for c in step.until
                ],
                "within_s": step.within_s,
                "show": sorted(lesson.figure_names(step)),
                "predict": (
                    {"question": step.predict.question, "choices": list(step.predict.choices)}
                    if step.predict
                    else None
                ),
                "has_reveal": bool(step.reveal),
                "acts": bool(step.do) or (i == 0 and bool(lesson.setup)),
            }
            for i, step in enumerate(lesson.steps)
        ],
        "try_it": {
            "say_html": lesson.try_it.say_html,
            "buttons": [button.label for button in lesson.try_it.buttons],
        },
        "progress": progress.panel_state(request.session, lesson),
        "urls": {
            "base": reverse("lesson", args=[lesson.slug]),
            "course": reverse("home"),
        },
        "next": (
            {"title": following.title, "url": reverse("lesson", args=[following.slug])}
            if following
            else None
        ),
    }
