"""Who set the shared state: recorded once a lab socket's handler succeeds, never when it is
refused, and carried in the state frame."""

import json

import pytest

from archviz.core import keys, labsocket, set_by
from archviz.core.instructor import ControlRefused
from archviz.dashboard.state import read_lab_state
from tests.conftest import INSTRUCTOR

TRAFFIC = {"type": "traffic", "rate": 20, "work_ms": 5, "variance_ms": 0, "ws_clients": 0}
FROM_QUEUE = labsocket.Caller(socket="tab-1", address="127.0.0.1", page="/queue/")


async def test_a_change_records_who_set_it_and_from_which_page(
    instructor_user, redis_client, dashboard_emitter, control_channel
) -> None:
    """The queue page's traffic: by the instructor, on /queue/, just now."""
    with labsocket.calling_as(FROM_QUEUE):
        await labsocket.handler_for("traffic")(instructor_user, TRAFFIC)
    entry = set_by.read(redis_client)["traffic"]
    assert (entry["by"], entry["page"]) == (INSTRUCTOR, "/queue/")
    assert isinstance(entry["ts"], int)


async def test_a_refused_change_records_nothing(
    instructor_user, redis_client, dashboard_emitter, control_channel
) -> None:
    """A rate out of bounds is refused, and no page is told it was set."""
    with labsocket.calling_as(FROM_QUEUE), pytest.raises(ControlRefused):
        await labsocket.handler_for("traffic")(instructor_user, TRAFFIC | {"rate": 9000})
    assert set_by.read(redis_client) == {}


def test_what_sets_more_than_its_own_page_shows_says_so() -> None:
    """Each handler registers what it sets: doubling the load sets the traffic too, and a
    session mode the balancer's algorithm."""
    assert labsocket.sets_of("overload.double") == ("overload", "traffic")
    assert labsocket.sets_of("session.mode") == ("session.mode", "lb.algorithm")
    assert labsocket.sets_of("node.config") == labsocket.sets_of("control") == ("nodes",)
    assert labsocket.sets_of("ping") == labsocket.sets_of("queue.enqueue") == ()


def test_the_state_frame_carries_who_set_what(redis_url, redis_client) -> None:
    """read_lab_state's set_by is the hash, parsed; junk in it is left out."""
    set_by.record(redis_client, "nodes", "ingrid", "lesson: lb-scale")
    redis_client.hset(keys.SET_BY, "traffic", "not json")
    redis_client.hset(keys.SET_BY, "weather", json.dumps({"by": "x", "page": "/", "ts": 1}))
    state = read_lab_state(redis_client)
    assert list(state["set_by"]) == ["nodes"]
    assert state["set_by"]["nodes"]["page"] == "lesson: lb-scale"


def test_an_unknown_what_is_refused(redis_client) -> None:
    with pytest.raises(ValueError, match="unknown shared state"):
        set_by.record(redis_client, "weather", "ingrid", "/lb/")


@pytest.mark.parametrize(
    ("raw", "page"),
    [("/lb/", "/lb/"), ("/chat/room/lobby/", "/chat/room/lobby/"), ("", ""),
     ("lb", ""), ("/<script>/", ""), ("/" + "a" * 200, "")],
)  # fmt: skip
def test_a_page_is_a_short_path_or_blank(raw: str, page: str) -> None:
    assert set_by.page_or_blank(raw) == page


async def test_a_lessons_change_names_the_lesson(
    instructor_user, redis_client, dashboard_emitter, control_channel
) -> None:
    """A lesson's actions go through the same handlers, and say which lesson set them."""
    from archviz.lessons.catalogue import course
    from archviz.lessons.runner import take_actions

    lesson = course().lesson("load-balancer")
    await take_actions(instructor_user, (TRAFFIC,), "127.0.0.1", lesson, "0")
    entry = set_by.read(redis_client)["traffic"]
    assert (entry["by"], entry["page"]) == (INSTRUCTOR, f"lesson: {lesson.title}")
