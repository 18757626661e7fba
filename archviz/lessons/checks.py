"""`manage.py check` (which the lab runs as it starts) names every lesson file that cannot be
used, with its line and problem."""

from django.conf import settings
from django.core.checks import Warning, register

from archviz.lessons.catalogue import course


@register()
def lesson_files(app_configs, **kwargs) -> list[Warning]:
    problems = [
        Warning(str(problem), hint="the other lessons still load", id="lessons.W001")
        for problem in course().problems
    ]
    if not course().lessons:
        problems.append(Warning(f"no lessons in {settings.ARCHVIZ_LESSONS_DIR}", id="lessons.W002"))
    return problems
