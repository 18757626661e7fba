"""Lesson files: every shipped lesson is valid, and a bad file is named with its line and
problem while the other lessons still load."""

from pathlib import Path

import pytest
from django.conf import settings

from archviz.lessons.catalogue import read_course
from archviz.lessons.schema import LessonError, parse_lesson

SHIPPED = sorted(Path(settings.ARCHVIZ_LESSONS_DIR).glob("*.yaml"))

GOOD = """\
title: A lesson
teaches: Something
minutes: 3
order: 5
page: /lb/
setup:
  - {type: lb.algorithm, algorithm: round_robin}
steps:
  - title: First
    say: Watch *this*.
    wait: {until: traffic.ok > 0}
    reveal: "{traffic.ok} answered, {start:traffic.ok} before"
try_it:
  say: Go on.
  buttons:
    - {label: Stop, do: [{type: traffic, rate: 0, work_ms: 20, variance_ms: 0, ws_clients: 0}]}
"""


def _problem(text: str) -> LessonError:
    with pytest.raises(LessonError) as caught:
        parse_lesson(Path("bad.yaml"), text)
    return caught.value


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_lesson_is_valid(path: Path) -> None:
    """Each file parses against the schema and starts from a state it sets up itself."""
    lesson = parse_lesson(path, path.read_text())
    assert lesson.setup and lesson.steps and lesson.try_it.buttons
    assert any(step.until for step in lesson.steps)


# What every demo on the nodes shares (issue 13: "the pages share one traffic generator and
# one set of node settings"); the gateway demo runs on processes of its own.
NODES = ("node-1", "node-2", "node-3")
ON_THE_NODES = [path for path in SHIPPED if "\npage: /gateway/" not in path.read_text()]


@pytest.mark.parametrize("path", ON_THE_NODES, ids=lambda p: p.name)
def test_every_lesson_on_the_nodes_sets_the_shared_state_it_runs_on(path: Path) -> None:
    """The failure first, whatever page or lesson ran before: each lesson on the nodes
    sets the traffic generator and every node's capacity and delay in its own setup."""
    lesson = parse_lesson(path, path.read_text())
    types = [action["type"] for action in lesson.setup]
    assert "traffic" in types, f"{path.name} leaves the traffic generator as it finds it"
    configured = {a["node"]: a["settings"] for a in lesson.setup if a["type"] == "node.config"}
    for node in NODES:
        settings_ = configured.get(node, {})
        assert {"capacity", "latency_ms"} <= settings_.keys(), f"{path.name}: {node} not reset"


def test_the_course_ships_its_lessons_in_order() -> None:
    course = read_course(Path(settings.ARCHVIZ_LESSONS_DIR))
    assert course.problems == ()
    assert [lesson.order for lesson in course.lessons] == sorted(x.order for x in course.lessons)
    assert course.lessons[0].page == "/lb/"


def test_a_good_lesson_reads_with_its_parts() -> None:
    lesson = parse_lesson(Path("good.yaml"), GOOD)
    step = lesson.steps[0]
    assert (lesson.slug, lesson.minutes, lesson.page) == ("good", 3, "/lb/")
    assert str(step.until[0]) == "traffic.ok > 0" and step.within_s == 30
    assert step.say_html == "<p>Watch <em>this</em>.</p>\n"
    assert lesson.figure_names(step) == {"traffic.ok"}


@pytest.mark.parametrize(
    ("change", "line", "words"),
    [
        (("minutes: 3", "minutes: lots"), 3, "minutes must be a number from 1 to 120"),
        (("page: /lb/", "page: lb"), 5, "page must be a path"),
        (("    say: Watch *this*.\n", ""), 9, "missing 'say'"),
        (
            ("  - {type: lb.algorithm, algorithm: round_robin}", "  - {type: format_disk}"),
            7,
            "not an action the lab takes: unknown message type 'format_disk'",
        ),
        (
            ("  - {type: lb.algorithm, algorithm: round_robin}", "  - {type: lb.algorithm}"),
            7,
            "algorithm is missing",
        ),
        (("traffic.ok > 0", "traffic.okay > 0"), 11, "'traffic.okay' is not a live figure"),
        (("traffic.ok > 0", "traffic.ok > many"), 11, "> needs a number"),
        (("{start:traffic.ok} before", "{nodes.nope}"), 12, "{nodes.nope} is not a live figure"),
        (("    wait: {until: traffic.ok > 0}\n", ""), 11, "a reveal needs a wait"),
        (("order: 5", "order: 5\nextra: 1"), 5, "unknown key 'extra'"),
        (("title: First", "title: [First"), 10, "not valid YAML"),
        (
            ("setup:\n  - {type: lb.algorithm, algorithm: round_robin}\n", "setup: []\n"),
            6,
            "setup must be a list of at least one",
        ),
    ],
)
def test_a_bad_lesson_names_its_line_and_problem(change: tuple, line: int, words: str) -> None:
    problem = _problem(GOOD.replace(*change))
    assert problem.file == "bad.yaml" and problem.line == line, str(problem)
    assert words in problem.problem, str(problem)
    assert str(problem).startswith(f"bad.yaml:{line}: ")


def test_a_bad_file_is_left_out_and_the_others_still_load(tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text(GOOD)
    (tmp_path / "broken.yaml").write_text(GOOD.replace("minutes: 3", "minutes: -1"))
    (tmp_path / "empty.yaml").write_text("")
    course = read_course(tmp_path)
    assert [lesson.slug for lesson in course.lessons] == ["good"]
    assert sorted(str(p) for p in course.problems) == [
        "broken.yaml:3: minutes must be a number from 1 to 120",
        "empty.yaml:1: the file is empty",
    ]


def test_the_system_check_names_each_bad_file(tmp_path: Path, settings) -> None:
    from archviz.lessons.checks import lesson_files

    (tmp_path / "broken.yaml").write_text(GOOD.replace("page: /lb/", "page: lb"))
    settings.ARCHVIZ_LESSONS_DIR = tmp_path
    warnings = lesson_files(None)
    assert [w.id for w in warnings] == ["lessons.W001", "lessons.W002"]
    assert warnings[0].msg.startswith("broken.yaml:5: page must be a path")
