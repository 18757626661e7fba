"""The course as `manage.py lab` announces it: one line saying how many lessons loaded from
which folder, naming each file left out with its line and problem."""

from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from archviz.lessons.catalogue import read_course, summary_line

SHIPPED = Path(settings.ARCHVIZ_LESSONS_DIR)
PORTS = ["ARCHVIZ_DASHBOARD_PORT", "ARCHVIZ_LB_PORT", "ARCHVIZ_GATEWAY_PORT",
         "ARCHVIZ_SERVICES_PORT", "ARCHVIZ_NODE_PORT"]  # fmt: skip


def _folder(tmp_path: Path) -> Path:
    """Two shipped lessons, a file that is not YAML and one that is not a lesson."""
    for name in ("load-balancer.yaml", "sessions.yaml"):
        (tmp_path / name).write_text((SHIPPED / name).read_text(encoding="utf-8"))
    (tmp_path / "broken.yaml").write_text("title: A lesson\nsteps: [unclosed\n")
    (tmp_path / "empty-steps.yaml").write_text(
        "title: T\nteaches: X\nminutes: 2\norder: 9\npage: /lb/\nsteps: []\n"
    )
    return tmp_path


def test_the_line_counts_the_lessons_and_names_each_bad_file_with_its_line(tmp_path) -> None:
    """2 loaded, 2 left out, each named with its line and problem, all on one line."""
    folder = _folder(tmp_path)
    course = read_course(folder)
    line = summary_line(course, folder)
    assert "\n" not in line
    assert line.startswith(f"lessons: 2 loaded from {folder}; 2 left out: ")
    for problem in course.problems:
        assert f"{problem.file}:{problem.line}: " in line
    assert {p.file for p in course.problems} == {"broken.yaml", "empty-steps.yaml"}


def test_the_shipped_course_loads_whole() -> None:
    """Every shipped lesson loads: the line says so and names no problem."""
    count = len(list(SHIPPED.glob("*.yaml")))
    assert summary_line(read_course(SHIPPED), SHIPPED) == f"lessons: {count} loaded from {SHIPPED}"


def test_manage_py_lab_prints_the_line_first(settings, tmp_path, capsys, listening_port) -> None:
    """`manage.py lab` says the course's line before anything else (here it then stops at a
    taken port, before starting a process)."""
    folder = _folder(tmp_path)
    settings.ARCHVIZ_LESSONS_DIR = folder
    for name in PORTS:
        setattr(settings, name, 0)
    settings.ARCHVIZ_DASHBOARD_PORT = listening_port
    with pytest.raises(CommandError, match="already in use"):
        call_command("lab")
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith(f"lessons: 2 loaded from {folder}; 2 left out: broken.yaml:")
    assert "empty-steps.yaml:" in first
