"""The class's requests on the lab socket, in this process (archviz.asgi.application on the
session's real Redis): instructors command, a member's tab sends only its heartbeat and
answer, and a refused or malformed frame gets an error while the socket goes on serving."""

import pytest
from asgiref.sync import sync_to_async

from archviz.classroom import store
from archviz.core.redis_conn import shared_client
from tests.classroom.conftest import session_key
from tests.dashboard.conftest import Connect
from tests.harness.clients import output_frame

COMMANDS = [
    {"type": "class.goto", "path": "/lb/", "lesson": "load-balancer", "step": 1},
    {"type": "class.highlight", "element": "lb-picture"},
    {"type": "class.pause", "paused": True},
    {"type": "class.poll", "lesson": "load-balancer", "step": 1},
    {"type": "class.reveal"},
    {"type": "class.roster"},
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c["type"])
async def test_a_learners_tab_can_send_no_class_command(
    connect: Connect, learner, command: dict
) -> None:
    """Each instructor command from a member's tab is an error frame; the socket serves on."""
    client, member = learner
    communicator, _ = await connect(await sync_to_async(session_key)(client))
    await communicator.send_json_to(command)
    refused = await output_frame(communicator, "error")
    assert refused["request"] == command["type"]
    assert "only instructors" in refused["reason"]
    await communicator.send_json_to({"type": "class.heartbeat", "member": member, "mode": "free"})
    assert (await output_frame(communicator, "ack"))["action"] == "class.heartbeat"
    state = await sync_to_async(store.current)(shared_client())
    assert state["where"] is None and state["paused"] is False and state["poll"] is None


async def test_an_anonymous_tab_can_send_no_class_command(connect: Connect, running_class) -> None:
    communicator, _ = await connect()
    await communicator.send_json_to({"type": "class.pause", "paused": True})
    assert "only instructors" in (await output_frame(communicator, "error"))["reason"]


async def _class_bar_and_teacher(connect: Connect, instructor_session: str, learner, path: str):
    """A member's class-bar socket at `path`, and the instructor's lab socket."""
    client, _member = learner
    follower, _ = await connect(await sync_to_async(session_key)(client), path=path)
    teacher, _ = await connect(instructor_session)
    return follower, teacher


async def test_the_instructors_move_reaches_every_tab(
    connect: Connect, instructor_session: str, learner
) -> None:
    """class.goto by the instructor: a class frame with the place on a member's class socket."""
    follower, teacher = await _class_bar_and_teacher(
        connect, instructor_session, learner, "/ws/lab/?frames=forwarded&page=/"
    )
    await teacher.send_json_to(COMMANDS[0])
    assert (await output_frame(teacher, "ack"))["action"] == "class.goto"
    frame = await output_frame(follower, "class", lambda f: f["state"]["where"] is not None)
    assert frame["state"]["where"] == {"path": "/lb/", "lesson": "load-balancer", "step": 1}


async def test_a_class_socket_gets_no_trace_or_state_frames(
    connect: Connect, instructor_session: str, learner
) -> None:
    """?frames=forwarded: only the class's frames (a class bar beside the page's own socket)."""
    follower, teacher = await _class_bar_and_teacher(
        connect, instructor_session, learner, "/ws/lab/?frames=forwarded"
    )
    await output_frame(teacher, "state")  # the feed runs and has published a state
    await teacher.send_json_to({"type": "class.pause", "paused": True})
    first = await follower.receive_json_from(timeout=10)
    assert first["type"] == "class" and first["state"]["paused"] is True


async def test_poll_answer_and_reveal(connect: Connect, instructor_session: str, learner) -> None:
    """The instructor opens a step's question, a member answers, the reveal has the counts."""
    client, member = learner
    learner_socket, _ = await connect(await sync_to_async(session_key)(client))
    teacher, _ = await connect(instructor_session)
    await teacher.send_json_to(COMMANDS[3])
    await output_frame(teacher, "ack")
    await learner_socket.send_json_to({"type": "class.answer", "member": member, "choice": 1})
    assert (await output_frame(learner_socket, "ack"))["action"] == "class.answer"
    await teacher.send_json_to({"type": "class.roster"})
    roster = await output_frame(teacher, "class_roster")
    assert roster["roster"] == [{"name": "Ada", "state": "following"}] and roster["answered"] == 1
    await teacher.send_json_to({"type": "class.reveal"})
    frame = await output_frame(
        learner_socket, "class", lambda f: (f["state"]["poll"] or {}).get("state") == "revealed"
    )
    poll = frame["state"]["poll"]
    assert poll["counts"] == [0, 1, 0] and "at_start" not in poll
    assert poll["reveal_html"].startswith("<p>")  # the step's reveal, with this run's figures


async def test_a_forged_member_token_is_refused(connect: Connect, learner) -> None:
    communicator, _ = await connect()
    await communicator.send_json_to({"type": "class.answer", "member": "forged", "choice": 0})
    assert "not in this class" in (await output_frame(communicator, "error"))["reason"]


@pytest.mark.parametrize(
    ("frame", "says"),
    [
        ({"type": "class.goto", "path": "https://evil.example/"}, "path must be a page"),
        ({"type": "class.goto", "path": "/lb/", "lesson": "load-balancer", "step": "x"}, "step"),
        ({"type": "class.pause", "paused": "yes"}, "paused must be true or false"),
        ({"type": "class.poll", "lesson": "nope", "step": 0}, "no lesson 'nope'"),
        ({"type": "class.poll", "lesson": "load-balancer", "step": 99}, "steps"),
        ({"type": "class.reveal"}, "no question is open"),
        ({"type": "class.poll", "lesson": "load-balancer", "step": 0}, "asks no question"),
        ({"type": "class.highlight", "element": "<img>"}, "an element's id"),
        ({"type": "class.heartbeat", "member": "x", "mode": "asleep"}, "mode must be one of"),
    ],
)
async def test_malformed_class_frames_get_a_clear_error(
    connect: Connect, instructor_session: str, running_class, frame: dict, says: str
) -> None:
    communicator, _ = await connect(instructor_session)
    await communicator.send_json_to(frame)
    assert says in (await output_frame(communicator, "error"))["reason"]
    await communicator.send_json_to({"type": "class.roster"})  # and it serves on
    assert (await output_frame(communicator, "class_roster"))["roster"] == []


async def test_commands_without_a_class_say_so(connect: Connect, instructor_session: str) -> None:
    communicator, _ = await connect(instructor_session)
    await communicator.send_json_to({"type": "class.pause", "paused": True})
    assert "no class is running" in (await output_frame(communicator, "error"))["reason"]


async def test_a_tab_that_opens_late_asks_for_the_class_as_it_is(
    connect: Connect, instructor_session: str, learner
) -> None:
    """class.state: a change made while a page was loading is not lost to it."""
    teacher, _ = await connect(instructor_session)
    await teacher.send_json_to(COMMANDS[0])
    await output_frame(teacher, "ack")
    late, _ = await connect(path="/ws/lab/?frames=forwarded")
    await late.send_json_to({"type": "class.state"})
    frame = await output_frame(late, "class")
    assert frame["state"]["where"]["step"] == 1 and "code" not in frame["state"]


async def test_a_highlight_is_shown_until_the_instructor_moves(
    connect: Connect, instructor_session: str, running_class
) -> None:
    """What the instructor points at is in the state; a move to another step clears it."""
    teacher, _ = await connect(instructor_session)
    await teacher.send_json_to({"type": "class.highlight", "element": "lb-picture"})
    await output_frame(teacher, "ack")
    assert (await sync_to_async(store.current)(shared_client()))["highlight"] == "lb-picture"
    await teacher.send_json_to(COMMANDS[0])
    await output_frame(teacher, "ack")
    assert (await sync_to_async(store.current)(shared_client()))["highlight"] is None
