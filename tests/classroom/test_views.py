"""The class's pages and its HTTP command endpoint, through Django's test client on the
session's real Redis: instructor-only actions refused to others, bad codes explained."""

import json

import pytest
from django.test import Client

from archviz.classroom import store
from archviz.core.redis_conn import shared_client

pytestmark = pytest.mark.usefixtures("redis_url")


def test_the_instructors_screen_shows_the_code_link_and_qr(
    instructor_client: Client, running_class: dict
) -> None:
    page = instructor_client.get("/class/").content.decode()
    code = running_class["code"]
    assert f"{code[:3]} {code[3:]}" in page
    assert f"/class/join/{code}/" in page
    assert "<svg" in page and "QR code of the link" in page


def test_a_learner_is_sent_to_the_join_form_not_the_instructors_screen(in_process_db) -> None:
    assert Client().get("/class/").url == "/class/join/"


def test_the_menu_leads_an_instructor_to_the_class_and_a_learner_to_the_join_form(
    instructor_client: Client, in_process_db
) -> None:
    """Every page's navigation: "Class" (the instructor's screen) for instructors, "Join a
    class" for everyone else."""
    mine = instructor_client.get("/lb/").content.decode()
    assert '<a href="/class/">Class</a>' in mine and "Join a class" not in mine
    theirs = Client().get("/lb/").content.decode()
    assert '<a href="/class/join/">Join a class</a>' in theirs and ">Class</a>" not in theirs


@pytest.mark.parametrize("path", ["/class/start/", "/class/end/"])
def test_only_instructors_start_or_end_a_class(running_class: dict, path: str) -> None:
    answer = Client().post(path)
    assert answer.status_code == 403 and b"only instructors" in answer.content
    assert store.current(shared_client()) is not None


def test_the_join_form_has_csrf_protection(running_class: dict) -> None:
    client = Client(enforce_csrf_checks=True)
    answer = client.post("/class/join/", {"code": running_class["code"], "name": "Ada"})
    assert answer.status_code == 403
    assert "csrf" in client.get("/class/join/").content.decode().lower()


def test_joining_keeps_the_membership_in_the_session(learner) -> None:
    client, member = learner
    assert client.session["class"]["name"] == "Ada" and member


@pytest.mark.parametrize(
    ("code", "says"),
    [("ACDEFG", "no class has the code ACDEFG"), ("0O1", "6 letters and digits")],
)
def test_a_wrong_code_gets_a_clear_error_on_the_page(
    running_class: dict, code: str, says: str
) -> None:
    answer = Client().post("/class/join/", {"code": code, "name": "Ada"})
    assert answer.status_code == 400 and says in answer.content.decode()


def test_an_expired_join_link_says_so_at_once(instructor_client: Client, running_class) -> None:
    code = running_class["code"]
    instructor_client.post("/class/end/")
    page = Client().get(f"/class/join/{code}/").content.decode()
    assert f"no class has the code {code}: it may have ended" in page


def test_a_name_is_shown_as_text_only(instructor_client: Client, running_class: dict) -> None:
    client = Client()
    client.post("/class/join/", {"code": running_class["code"], "name": "<b>Eve</b>"})
    page = client.get("/lab/").content.decode()
    assert "&lt;b&gt;Eve&lt;/b&gt;" in page and "<b>Eve</b>" not in page


def test_the_class_bar_shows_only_to_the_classs_members(learner, running_class: dict) -> None:
    client, member = learner
    assert 'id="class-bar"' in client.get("/lab/").content.decode()
    stranger = Client().get("/lab/").content.decode()
    assert 'id="class-bar"' not in stranger and member not in stranger


def test_the_bar_never_shows_the_code_to_members(learner, running_class: dict) -> None:
    client, _member = learner
    assert running_class["code"] not in client.get("/lab/").content.decode()


def test_a_learner_cannot_command_the_class_over_http(learner) -> None:
    client, _member = learner
    answer = client.post(
        "/class/command/", json.dumps({"type": "class.pause", "paused": True}),
        content_type="application/json",
    )  # fmt: skip
    assert answer.status_code == 403 and "only instructors" in answer.json()["error"]
    assert store.current(shared_client())["paused"] is False


def test_the_instructor_commands_over_http_as_on_the_socket(
    instructor_client: Client, running_class
) -> None:
    answer = instructor_client.post(
        "/class/command/", json.dumps({"type": "class.goto", "path": "/queue/"}),
        content_type="application/json",
    )  # fmt: skip
    assert answer.status_code == 200
    assert store.current(shared_client())["where"]["path"] == "/queue/"


@pytest.mark.parametrize(
    ("body", "says"),
    [("not json", "send a JSON object"), ("[1]", "send a JSON object"),
     ('{"type": "class.sleep"}', "unknown class command"),
     ('{"type": "class.goto", "path": "javascript:alert(1)"}', "path must be a page")],
)  # fmt: skip
def test_bad_http_commands_get_a_clear_error(
    instructor_client: Client, running_class, body: str, says: str
) -> None:
    answer = instructor_client.post("/class/command/", body, content_type="application/json")
    assert answer.status_code == 400 and says in answer.json()["error"]


def test_a_joined_learner_lands_where_the_instructor_is(
    instructor_client: Client, running_class: dict
) -> None:
    instructor_client.post(
        "/class/command/",
        json.dumps({"type": "class.goto", "path": "/lb/", "lesson": "load-balancer", "step": 0}),
        content_type="application/json",
    )
    answer = Client().post("/class/join/", {"code": running_class["code"], "name": "Bo"})
    assert answer.url == "/lb/?lesson=load-balancer"
