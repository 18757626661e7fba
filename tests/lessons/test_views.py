"""The course page and a lesson's endpoints, in process on the real Redis: who may run a
step, what a step sends to the lab, and what the watch says."""

import json

import pytest
from django.test import Client
from django.utils.html import escape

from archviz.core import keys
from archviz.core.recording_markers import MARKERS
from archviz.core.redis_conn import sync_client
from archviz.dashboard.models import Node
from archviz.lessons.catalogue import course

LESSON = "load-balancer"
START = f"/lessons/{LESSON}/steps/0/start"
WATCH = f"/lessons/{LESSON}/steps/0/watch"


@pytest.fixture
def teacher(instructor_user, redis_url, dashboard_emitter) -> Client:
    client = Client()
    client.force_login(instructor_user)
    return client


@pytest.fixture
def learner(in_process_db, redis_url) -> Client:
    return Client()


@pytest.fixture
def commands(redis_url):
    """The control commands published from now on, as the lab's processes receive them."""
    pubsub = sync_client(redis_url).pubsub()
    pubsub.subscribe(keys.CONTROL_CHANNEL)
    assert pubsub.get_message(timeout=5)["type"] == "subscribe"

    def received() -> list[dict]:
        found = []
        while (message := pubsub.get_message(timeout=0.5)) is not None:
            found.append(json.loads(message["data"]))
        return found

    yield received
    pubsub.close()


def test_the_home_page_is_the_course_in_order(learner: Client) -> None:
    page = learner.get("/").content.decode()
    titles = [escape(lesson.title) for lesson in course().lessons]
    positions = [page.index(title) for title in titles]
    assert positions == sorted(positions) and f'href="/lessons/{LESSON}/"' in page
    assert "open the sign-in link" in page  # a learner is told how to take control


def test_a_lesson_opens_on_its_demo_page_with_the_panel(learner: Client) -> None:
    response = learner.get(f"/lessons/{LESSON}/")
    assert response.status_code == 302 and response["Location"] == f"/lb/?lesson={LESSON}"
    page = learner.get(response["Location"]).content.decode()
    assert 'id="lesson-panel"' in page and 'id="lesson-panel-data"' in page
    assert 'id="lesson-panel"' not in learner.get("/lb/").content.decode()
    assert 'id="lesson-panel"' not in learner.get(f"/chat/?lesson={LESSON}").content.decode()


def test_unknown_lessons_and_steps_are_404(teacher: Client) -> None:
    assert teacher.get("/lessons/no-such-lesson/").status_code == 404
    assert teacher.post(f"/lessons/{LESSON}/steps/99/start").status_code == 404


def test_a_learner_cannot_run_a_step_and_is_told_how(learner: Client, commands) -> None:
    response = learner.post(START)
    assert response.status_code == 403 and "sign-in link" in response.json()["error"]
    assert commands() == []


def test_a_step_without_the_csrf_token_is_refused(
    instructor_user, redis_url, dashboard_emitter, commands
) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(instructor_user)
    assert client.post(START).status_code == 403
    assert commands() == []


def test_the_first_step_sets_up_the_lesson_then_acts(teacher: Client, commands) -> None:
    """The failure first: the lesson's setup (algorithm, node settings, traffic) is carried
    out before the step's own actions, each as the instructor who ran it."""
    Node.objects.filter(name="node-2").update(latency_ms=300, capacity=1)
    response = teacher.post(START)
    assert response.status_code == 200, response.content
    sent = commands()
    assert [(c["type"], c.get("algorithm"), c.get("rate")) for c in sent] == [
        ("lb.algorithm", "round_robin", None),
        ("traffic.set", None, 0),  # the setup's
        ("traffic.set", None, 20),  # the step's
    ]
    assert {c["by"] for c in sent} == {"ingrid"}
    node = Node.objects.get(name="node-2")
    assert (node.latency_ms, node.capacity) == (0, 10)


def test_the_watch_reads_the_live_figures(teacher: Client, commands) -> None:
    assert teacher.get(WATCH).status_code == 409  # not started
    assert teacher.post(START).status_code == 200
    answer = teacher.get(WATCH).json()
    assert answer["met"] is False and answer["reveal_html"] == ""
    assert set(answer["figures"]) == {"traffic.nodes_used", "traffic.ok", "traffic.busiest_share"}


def test_a_prediction_is_one_of_the_choices(teacher: Client) -> None:
    url = f"/lessons/{LESSON}/steps/1/predict"
    assert teacher.post(url, {"choice": 1}, content_type="application/json").status_code == 200
    assert teacher.post(url, {"choice": 7}, content_type="application/json").status_code == 400
    assert teacher.post(url, "[", content_type="application/json").status_code == 400
    no_question = f"/lessons/{LESSON}/steps/0/predict"
    assert (
        teacher.post(no_question, {"choice": 0}, content_type="application/json").status_code == 400
    )


def test_a_one_step_lesson_says_one_step(learner: Client) -> None:
    one = [lesson for lesson in course().lessons if len(lesson.steps) == 1]
    page = learner.get("/").content.decode()
    assert one and "· 1 step</span>" in page and "1 steps" not in page


def test_progress_shows_on_the_course_card(teacher: Client, commands) -> None:
    assert "5 steps" in teacher.get("/").content.decode()
    teacher.post(START)
    assert "step 1 of 5" in teacher.get("/").content.decode()


def test_without_redis_a_step_says_so(teacher: Client, settings) -> None:
    settings.ARCHVIZ_REDIS_URL = "redis://127.0.0.1:1/0"
    response = teacher.post(START)
    assert response.status_code == 503 and "Redis" in response.json()["error"]


def test_a_step_the_lab_cannot_carry_out_says_so(teacher: Client) -> None:
    """No lab process listens on this Redis: the step is refused in words, not started."""
    response = teacher.post(START)
    assert response.status_code == 503 and "nothing is listening" in response.json()["error"]
    assert teacher.get(WATCH).status_code == 409


def test_a_started_step_is_a_marker_on_the_recording(teacher: Client, commands) -> None:
    """Starting a step writes a lesson marker for the flight recorder's timeline."""
    assert teacher.post(START).status_code == 200
    written = sync_client().xrange(MARKERS)
    labels = [json.loads(fields[b"marker"])["label"] for _id, fields in written]
    lesson = course().lesson(LESSON)
    assert labels == [f"{lesson.title}: step 1 by ingrid"]


CACHING_LESSON = """\
title: Caching in front of the nodes
teaches: A cache answers before the nodes do
minutes: 5
order: 99
page: /lb/
setup: [{type: lb.algorithm, algorithm: round_robin}]
steps:
  - title: Watch
    say: Look at the nodes.
try_it:
  say: Your turn.
  buttons:
    - label: Use least connections
      do: [{type: lb.algorithm, algorithm: least_connections}]
"""


@pytest.fixture
def own_lessons(settings, tmp_path):
    """A lessons folder of the test's own, with the shipped load-balancer lesson in it."""
    shipped = settings.ARCHVIZ_LESSONS_DIR / f"{LESSON}.yaml"
    (tmp_path / shipped.name).write_text(shipped.read_text(encoding="utf-8"))
    settings.ARCHVIZ_LESSONS_DIR = tmp_path
    return tmp_path


def test_a_lesson_file_dropped_in_while_the_lab_runs_is_on_the_course_page(
    learner: Client, own_lessons
) -> None:
    """No restart: the next page served reads the folder again and lists the new lesson."""
    assert "Caching in front of the nodes" not in learner.get("/").content.decode()
    (own_lessons / "caching.yaml").write_text(CACHING_LESSON)
    page = learner.get("/").content.decode()
    assert "Caching in front of the nodes" in page and 'href="/lessons/caching/"' in page
    assert learner.get("/lessons/caching/").status_code == 302


def test_an_instructor_sees_each_bad_lesson_file_with_its_line_and_a_learner_does_not(
    teacher: Client, learner: Client, own_lessons
) -> None:
    """The bad file is named with its line and problem on the instructor's course page; the
    good lesson still loads; a learner sees the course without the problems."""
    (own_lessons / "broken.yaml").write_text("title: A lesson\nsteps: [unclosed\n")
    page = teacher.get("/").content.decode()
    assert "Lesson files that could not be used" in page and "broken.yaml:" in page
    assert 'href="/lessons/load-balancer/"' in page
    learners_page = learner.get("/").content.decode()
    assert "broken.yaml" not in learners_page and 'href="/lessons/load-balancer/"' in learners_page
