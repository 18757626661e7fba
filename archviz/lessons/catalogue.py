"""The course: every lesson file in ARCHVIZ_LESSONS_DIR, in order. A bad file is left out
with its problem, and the others still load. Read again when a file changes, so that an
instructor's new lesson appears without a restart."""

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from archviz.lessons.schema import Lesson, LessonError, parse_lesson


@dataclass(frozen=True)
class Course:
    lessons: tuple[Lesson, ...]
    problems: tuple[LessonError, ...]

    def lesson(self, slug: str) -> Lesson | None:
        return next((lesson for lesson in self.lessons if lesson.slug == slug), None)

    def after(self, lesson: Lesson) -> Lesson | None:
        index = self.lessons.index(lesson)
        return self.lessons[index + 1] if index + 1 < len(self.lessons) else None


_cache: dict[Path, tuple[tuple, Course]] = {}


def read_course(folder: Path) -> Course:
    """Every `*.yaml` in `folder` (pure but for reading the files)."""
    lessons, problems = [], []
    for file in sorted(folder.glob("*.yaml")):
        try:
            lessons.append(parse_lesson(file, file.read_text(encoding="utf-8")))
        except LessonError as exc:
            problems.append(exc)
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(LessonError(file.name, 0, f"cannot be read: {exc}"))
    lessons.sort(key=lambda lesson: (lesson.order, lesson.slug))
    return Course(tuple(lessons), tuple(problems))


def course() -> Course:
    """The lab's course, read again only when a file in the folder changed."""
    folder = Path(settings.ARCHVIZ_LESSONS_DIR)
    try:
        stamp = tuple((f.name, f.stat().st_mtime_ns) for f in sorted(folder.glob("*.yaml")))
    except OSError:
        stamp = ()
    cached = _cache.get(folder)
    if cached is None or cached[0] != stamp:
        cached = (stamp, read_course(folder))
        _cache[folder] = cached
    return cached[1]


def summary_line(course: Course, folder: Path) -> str:
    """One line for the lab's start: how many lessons loaded from where, and each file left
    out with its line and problem (pure)."""
    count = len(course.lessons)
    line = f"lessons: {count} loaded from {folder}"
    if course.problems:
        problems = "; ".join(" ".join(str(problem).split()) for problem in course.problems)
        line += f"; {len(course.problems)} left out: {problems}"
    return line


def startup_line() -> str:
    """The summary of the lab's course now (archviz/core/hooks.py register_startup_line)."""
    return summary_line(course(), Path(settings.ARCHVIZ_LESSONS_DIR))
