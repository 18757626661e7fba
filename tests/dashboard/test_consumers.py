"""The LabConsumer in this process, on the real Redis: welcome, bad input, who may do what,
and flooding. (What crosses processes, a ping's hops, is in test_lab_socket.py.)"""

import json

import pytest
import redis
from asgiref.sync import sync_to_async

from archviz.core import close_codes, keys
from archviz.dashboard.consumers import FLOOD_CLOSE_AFTER
from archviz.dashboard.models import Node
from archviz.queue import keys as queue_keys
from tests.conftest import INSTRUCTOR
from tests.dashboard.conftest import Connect, lab_communicator
from tests.harness.clients import ControlChannel, output_frame, output_until_close
from tests.harness.wait_for import async_wait_for

# Every request only an instructor may make, each well formed.
INSTRUCTOR_ONLY = [
    {"type": "control", "action": "kill", "node": "node-1"},
    {"type": "node.add"},
    {"type": "node.remove", "node": "node-1"},
    {"type": "node.config", "node": "node-1", "settings": {"capacity": 1}},
    {"type": "lb.algorithm", "algorithm": "random"},
    {"type": "traffic", "rate": 10, "work_ms": 1, "variance_ms": 0, "ws_clients": 0},
    {"type": "session.mode", "mode": "redis"},
    {"type": "chat.mode", "mode": "redis"},
    {"type": "chat.bots", "room": "lobby", "count": 2},
    {"type": "queue.control", "action": "stop"},
    {"type": "queue.enqueue", "count": 1, "kind": "poison"},
    {"type": "queue.add"},
    {"type": "queue.remove", "consumer": "consumer-1"},
]


async def _answer(communicator, message: dict | str, kind: str = "error") -> dict:
    """Send a message; the consumer's answer of that kind."""
    raw = message if isinstance(message, str) else json.dumps(message)
    await communicator.send_to(text_data=raw)
    return await output_frame(communicator, kind)


# --- what every page gets ---------------------------------------------------------------


async def test_a_learner_is_welcomed_with_the_recent_trace_events(
    connect: Connect, dashboard_emitter
) -> None:
    """The welcome names no user, grants no control, and replays the trace log's tail."""
    earlier = dashboard_emitter.emit("node.up", "redis", detail={"port": 8101})
    assert dashboard_emitter.flush()
    communicator, welcome = await connect()
    assert welcome["user"] == {"name": None, "instructor": False}
    assert earlier in welcome["recent"]
    state = await output_frame(communicator, "state")
    assert state["state"]["redis"]["up"] is True


async def test_trace_events_reach_the_page_as_they_happen(
    connect: Connect, dashboard_emitter, redis_client: redis.Redis
) -> None:
    """An event published once the feed listens arrives in a trace frame."""
    communicator, _ = await connect()
    await async_wait_for(
        lambda: redis_client.pubsub_numsub(keys.TRACE_CHANNEL)[0][1] >= 1, "the feed listening"
    )
    sent = dashboard_emitter.emit("http.request", "node-2", detail={"path": "/ping"})
    assert dashboard_emitter.flush()
    frame = await output_frame(communicator, "trace", lambda f: sent in f["events"])
    assert all(event["v"] == 1 for event in frame["events"])


@pytest.mark.parametrize(
    ("frame", "reason", "request_type"),
    [
        ("{not json", "malformed JSON", None),
        ("[1, 2]", "a message must be a JSON object", None),
        (json.dumps({"type": []}), "unknown message type []", None),
        (json.dumps({"type": {}}), "unknown message type {}", None),
        (json.dumps({"type": "explode"}), "unknown message type 'explode'", None),
        (json.dumps({"type": "queue.enqueue", "count": "x"}), "count must be a whole number",
         "queue.enqueue"),
        (json.dumps({"type": "ping"}), "node is missing", "ping"),
        (json.dumps({"type": "ping", "node": "../etc"}), "bad node id '../etc'", "ping"),
        (json.dumps({"type": "ping", "node": "node-77"}), "node-77 is not up", "ping"),
    ],
)  # fmt: skip
async def test_a_bad_frame_gets_an_error_and_the_socket_stays_open(
    connect: Connect, frame: str, reason: str, request_type: str | None
) -> None:
    """Each bad frame is answered with an error saying why; the next request is answered."""
    communicator, _ = await connect()
    error = await _answer(communicator, frame)
    assert reason in error["reason"]
    assert error.get("request") == request_type
    again = await _answer(communicator, {"type": "ping", "node": "node-78"})
    assert again == {
        "type": "error",
        "reason": "node-78 is not up: no registration in Redis matches the supervisor's",
        "request": "ping",
        "node": "node-78",
    }


async def test_a_binary_frame_is_read_like_a_text_one(connect: Connect) -> None:
    """Bytes are parsed as JSON too: garbage is malformed, a message is answered."""
    communicator, _ = await connect()
    await communicator.send_to(bytes_data=b"\xff\x00")
    assert (await output_frame(communicator, "error"))["reason"] == "malformed JSON"
    await communicator.send_to(bytes_data=json.dumps({"type": "ping", "node": "x y"}).encode())
    assert "bad node id" in (await output_frame(communicator, "error"))["reason"]


# --- learners ---------------------------------------------------------------------------


@pytest.mark.parametrize("message", INSTRUCTOR_ONLY, ids=lambda m: m["type"])
async def test_a_learners_instructor_only_request_is_refused_and_nothing_is_sent(
    connect: Connect, control_channel: ControlChannel, message: dict
) -> None:
    """The error says only instructors may; no command reaches the control channel."""
    communicator, _ = await connect()
    error = await _answer(communicator, message)
    assert "only instructors" in error["reason"]
    assert error["request"] == message["type"]
    assert await control_channel.published() == []


async def test_a_learner_may_enqueue_normal_jobs(
    connect: Connect, redis_client: redis.Redis
) -> None:
    """A learner's jobs are acknowledged and are in the stream; too many are refused."""
    communicator, _ = await connect()
    ack = await _answer(communicator, {"type": "queue.enqueue", "count": 3}, "ack")
    assert ack == {"type": "ack", "action": "queue.enqueue"}
    assert redis_client.xlen(queue_keys.STREAM) == 3
    error = await _answer(communicator, {"type": "queue.enqueue", "count": 21})
    assert error["reason"] == "count must be a whole number from 1 to 20"
    assert redis_client.xlen(queue_keys.STREAM) == 3


async def test_flooding_is_refused_then_closed_with_the_flooding_code(connect: Connect) -> None:
    """Beyond 20 per second (a burst of 40), messages are refused; after 100 refusals the
    socket is closed with FLOODING."""
    communicator, _ = await connect()
    for _ in range(400):  # far more than the burst and the refusals, sent at once
        await communicator.send_to(text_data=json.dumps({"type": "ping", "node": "BAD ID"}))
    frames, code = await output_until_close(communicator, timeout=30)
    assert code == close_codes.FLOODING
    reasons = [f["reason"] for f in frames if f["type"] == "error"]
    assert reasons.count("too many messages: at most 20 per second") == FLOOD_CLOSE_AFTER - 1
    assert reasons.count("bad node id 'BAD ID'") >= 40  # the burst was answered


# --- who may open the socket ------------------------------------------------------------


@pytest.mark.parametrize("origin", ["http://evil.example", "http://127.0.0.1.evil.example", None])
@pytest.mark.usefixtures("redis_url", "in_process_db")
async def test_a_socket_from_another_origin_or_none_is_refused(origin: str | None) -> None:
    """Only pages of the allowed hosts may open the lab socket: any other is closed with
    FORBIDDEN_ORIGIN as it opens (after an accept, so that a browser sees the code)."""
    communicator = lab_communicator(origin=origin)
    await communicator.connect(timeout=10)
    closing = await communicator.receive_output(timeout=10)
    assert closing == {"type": "websocket.close", "code": close_codes.FORBIDDEN_ORIGIN}
    await communicator.disconnect(timeout=10)


@pytest.mark.usefixtures("redis_url", "in_process_db")
async def test_with_login_required_an_anonymous_page_is_refused(settings) -> None:
    """ARCHVIZ_REQUIRE_LOGIN: an anonymous socket is closed with LOGIN_REQUIRED."""
    settings.ARCHVIZ_REQUIRE_LOGIN = True
    communicator = lab_communicator()
    assert (await communicator.connect(timeout=10))[0] is True  # accepted, so the code arrives
    closing = await communicator.receive_output(timeout=10)
    assert closing == {"type": "websocket.close", "code": close_codes.LOGIN_REQUIRED}
    await communicator.disconnect(timeout=10)


# --- instructors ------------------------------------------------------------------------


async def test_an_instructor_is_welcomed_as_one_even_with_login_required(
    connect: Connect, instructor_session: str, settings
) -> None:
    """A logged-in member of Instructors is named and may control the lab."""
    settings.ARCHVIZ_REQUIRE_LOGIN = True
    _, welcome = await connect(instructor_session)
    assert welcome["user"] == {"name": INSTRUCTOR, "instructor": True}


async def test_an_instructors_command_with_nobody_listening_is_a_clear_error(
    connect: Connect, instructor_session: str
) -> None:
    """No supervisor subscribed: the error says nothing is listening, and who should be."""
    communicator, _ = await connect(instructor_session)
    error = await _answer(communicator, {"type": "control", "action": "kill", "node": "node-1"})
    assert error == {
        "type": "error",
        "reason": "nothing is listening for commands (supervisor not running?)",
        "request": "control",
        "node": "node-1",
    }


async def test_an_instructors_command_is_published_naming_them_and_acknowledged(
    connect: Connect, instructor_session: str, control_channel: ControlChannel
) -> None:
    """With a supervisor listening, the kill is acknowledged and the supervisor gets it."""
    communicator, _ = await connect(instructor_session)
    message = {"type": "control", "action": "kill", "node": "node-1"}
    ack = await _answer(communicator, message, "ack")
    assert ack == {"type": "ack", "action": "kill", "node": "node-1"}
    (command,) = await control_channel.published()
    assert (command["type"], command["node"], command["by"]) == ("node.kill", "node-1", INSTRUCTOR)
    assert len(command["trace"]) == 16


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ({"type": "control", "action": "dance", "node": "node-1"}, "unknown action 'dance'"),
        ({"type": "control", "action": "kill", "node": "Node 1"}, "bad node id 'Node 1'"),
        ({"type": "node.config", "node": "node-1", "settings": {"capacity": 0}}, "capacity"),
        ({"type": "node.config", "node": "node-1", "settings": {"capacity": "lots"}},
         "give whole numbers"),
        ({"type": "node.config", "node": "node-1", "settings": {}}, "give whole numbers"),
        ({"type": "node.config", "node": "node-99", "settings": {"capacity": 3}},
         "no node called 'node-99'"),
        ({"type": "node.remove", "node": "node-99"}, "no node called 'node-99'"),
        ({"type": "traffic", "rate": 9000, "work_ms": 1, "variance_ms": 0, "ws_clients": 0},
         "rate must be from 0 to 500"),
        ({"type": "lb.algorithm", "algorithm": "telepathy"}, "unknown algorithm 'telepathy'"),
        ({"type": "session.mode", "mode": "memcached"}, "local, sticky, redis"),
        ({"type": "queue.control", "action": "explode"}, "unknown queue action 'explode'"),
        ({"type": "queue.enqueue", "count": 1, "kind": "cursed"}, "unknown job kind 'cursed'"),
        ({"type": "queue.remove", "consumer": "consumer-99"}, "no consumer called 'consumer-99'"),
    ],
)  # fmt: skip
async def test_an_instructors_bad_values_are_refused_with_the_reason(
    connect: Connect,
    instructor_session: str,
    control_channel: ControlChannel,
    message: dict,
    reason: str,
) -> None:
    """Checked on the server before anything is sent: the error says what is wrong."""
    communicator, _ = await connect(instructor_session)
    error = await _answer(communicator, message)
    assert reason in error["reason"] and error["request"] == message["type"]
    assert await control_channel.published() == []


async def test_an_instructor_adds_configures_and_removes_node_rows(
    connect: Connect, instructor_session: str
) -> None:
    """node.add makes node-4, node.config saves its settings, node.remove deletes it: the
    desired state the supervisor reconciles to (test_scaling.py watches it do so)."""
    communicator, _ = await connect(instructor_session)
    added = await _answer(communicator, {"type": "node.add"}, "ack")
    assert added == {"type": "ack", "action": "node.add", "node": "node-4"}
    settings = {"capacity": 2, "latency_ms": 40, "jitter_ms": 10, "weight": 3}
    message = {"type": "node.config", "node": "node-4", "settings": settings}
    assert (await _answer(communicator, message, "ack"))["action"] == "node.config"
    row = await sync_to_async(Node.objects.get)(name="node-4")
    assert (row.capacity, row.latency_ms, row.jitter_ms, row.weight) == (2, 40, 10, 3)
    removed = await _answer(communicator, {"type": "node.remove", "node": "node-4"}, "ack")
    assert removed == {"type": "ack", "action": "node.remove", "node": "node-4"}
    names = await sync_to_async(lambda: sorted(Node.objects.values_list("name", flat=True)))()
    assert names == ["node-1", "node-2", "node-3"]
