"""A node's /ws/hold/ in process: admitted with its role, refused with 4013 when the node is
over its limit or threshold, and shed with 4014 (never an instructor)."""

import json
from collections.abc import AsyncIterator

import pytest
import redis
from channels.testing import WebsocketCommunicator

from archviz.core import close_codes, keys
from archviz.node.consumers import HoldConsumer
from archviz.node.runtime import NodeConfig, NodeRuntime, set_runtime
from archviz.node.shedder import CAP_WINDOW_MS, SHED_AFTER_MS
from archviz.node.sockets import RETRY_AFTER_MS, SHED_RETRY_AFTER_MS, issue_ticket
from tests.harness.clients import output_until_close

# Channels closes database connections around every message: the test database must be open
pytestmark = pytest.mark.usefixtures("in_process_db")


@pytest.fixture
def node(redis_url: str, dashboard_emitter) -> NodeRuntime:
    runtime = NodeRuntime("node-t")
    set_runtime(runtime)
    return runtime


@pytest.fixture
def trace(redis_client: redis.Redis):
    """Trace events as this process publishes them: call it with a kind to wait for one."""
    pubsub = redis_client.pubsub()
    pubsub.subscribe(keys.TRACE_CHANNEL)
    pubsub.get_message(timeout=1)  # subscribed: nothing published from here on is missed

    def next_event(kind: str, timeout: float = 5) -> dict:
        while message := pubsub.get_message(timeout=timeout):
            if message["type"] == "message":
                events = [e for e in json.loads(message["data"]) if e["kind"] == kind]
                if events:
                    return events[0]
        raise AssertionError(f"no {kind} trace event within {timeout} s")

    yield next_event
    pubsub.close()


class Sockets:
    """The test's open /ws/hold/ communicators, disconnected at the end."""

    def __init__(self) -> None:
        self.open: list[WebsocketCommunicator] = []

    async def connect(self, query: str = "") -> tuple[WebsocketCommunicator, dict]:
        """A socket and its first frame (hello, or overloaded)."""
        socket = WebsocketCommunicator(HoldConsumer.as_asgi(), f"/ws/hold/?{query}")
        connected, _ = await socket.connect()
        assert connected
        self.open.append(socket)
        return socket, await socket.receive_json_from()


@pytest.fixture
async def sockets() -> AsyncIterator[Sockets]:
    held = Sockets()
    yield held
    for socket in held.open:
        await socket.disconnect()


async def test_the_hello_says_the_role_the_node_gave(node, sockets):
    """A ticket proves learner or instructor, client=bot claims bot, else anonymous."""
    instructor, learner = issue_ticket("instructor", "ingrid"), issue_ticket("learner", "lena")
    roles = []
    for query in (f"ticket={instructor}", f"ticket={learner}", "client=bot", "", "ticket=forged"):
        _, hello = await sockets.connect(query)
        roles.append(hello["role"])
    assert roles == ["instructor", "learner", "bot", "anonymous", "anonymous"]
    assert node.sockets.roles() == {"instructor": 1, "learner": 1, "bot": 1, "anonymous": 2}


async def test_the_socket_past_ws_limit_is_told_overloaded_then_closed_4013(node, sockets, trace):
    """At ws_limit open sockets the next is accepted, told why and when to retry, closed."""
    node.apply_config(NodeConfig(ws_limit=2, reject_above=100, shed_above=100))
    for _ in range(2):
        _, hello = await sockets.connect()
        assert hello["type"] == "hello"
    refused, overloaded = await sockets.connect()
    frames, code = await output_until_close(refused)
    assert code == close_codes.OVERLOADED and frames == []
    reason = "2 WebSockets open: the node's limit is 2"
    hint = {"retry_after_ms": RETRY_AFTER_MS, "pressure": 1.0, "reason": reason}
    assert overloaded == {"type": "overloaded", "node": "node-t"} | hint
    counters = node.overload_counters
    assert (counters.handshakes_total, counters.rejected_ws_total) == (3, 1)
    assert len(node.sockets) == 2
    event = trace("shed.reject")
    assert event["src"] == "dashboard" and not event["ok"]  # this process's emitter
    assert event["detail"]["retry_after_ms"] == RETRY_AFTER_MS
    assert "limit is 2" in event["detail"]["reason"]


async def test_a_node_over_its_reject_threshold_refuses_new_sockets(node, sockets):
    """The reporter's pressure above reject_above refuses, even with room under ws_limit."""
    node.latest_pressure = 0.85  # as reporter.py keeps it
    refused, overloaded = await sockets.connect("client=bot")
    assert overloaded["type"] == "overloaded" and overloaded["pressure"] == 0.85
    assert overloaded["reason"] == "pressure 0.85 over the reject threshold 0.80"
    assert (await output_until_close(refused))[1] == close_codes.OVERLOADED
    node.latest_pressure = 0.8  # at the threshold is not over it
    assert (await sockets.connect())[1]["type"] == "hello"


async def test_shed_now_closes_all_but_the_instructors_with_4014(node, sockets, trace):
    """Shed 100 %: every learner, bot and anonymous socket gets the hint and 4014."""
    ticket = issue_ticket("instructor", "ingrid")
    instructors = [(await sockets.connect(f"ticket={ticket}"))[0] for _ in range(2)]
    learner = f"ticket={issue_ticket('learner', 'lena')}"
    others = [(await sockets.connect(q))[0] for q in ("client=bot", "client=bot", "", learner)]
    assert node.shed_now(100) == 4
    for socket in others:  # six were open of ws_limit 500: pressure 0.012
        frames, code = await output_until_close(socket)
        assert code == close_codes.SHED
        assert frames == [{"type": "shed", "node": "node-t", "retry_after_ms": SHED_RETRY_AFTER_MS,
                           "pressure": 6 / 500}]  # fmt: skip
    for socket in instructors:
        await socket.send_to(text_data="still here")
        assert (await socket.receive_json_from())["type"] == "echo"
    assert node.overload_counters.shed_total == 4 and len(node.sockets) == 2
    event = trace("shed.disconnect")
    assert event["detail"] | {"pressure": None} == {
        "count": 4, "policy": "priority", "pressure": None,
        "roles": {"bot": 2, "anonymous": 1, "learner": 1}, "why": "an instructor's 100 % now",
    }  # fmt: skip
    assert node.shed_now(50) == 0  # only instructors left


async def test_shed_now_refuses_a_percent_out_of_range(node):
    """1..100 whole percent, else a ValueError naming the field."""
    for bad in (0, 101, 2.5, True):
        with pytest.raises(ValueError, match="percent"):
            node.shed_now(bad)


async def test_the_shedder_sheds_the_newest_until_back_under(node, sockets):
    """8 of ws_limit 10 open is 0.8 over shed_above 0.5: after 500 ms, a socket a tick."""
    node.apply_config(NodeConfig(ws_limit=10, reject_above=90, shed_above=50, shed_policy="newest"))
    opened = [(await sockets.connect("client=bot"))[0] for _ in range(8)]
    shedder = node.shedder
    assert shedder.tick(0) == 0 and not node.overload_counters.shedding  # not for long yet
    batches = [shedder.tick(SHED_AFTER_MS + n * 200) for n in range(5)]
    assert batches == [1, 1, 1, 0, 0]  # 8 -> 5 open: 0.5 is not above 0.5
    assert not node.overload_counters.shedding and node.overload_counters.shed_total == 3
    for socket in opened[5:]:  # the three newest
        assert (await output_until_close(socket))[1] == close_codes.SHED
    for socket in opened[:5]:
        await socket.send_to(text_data="x")
        assert (await socket.receive_json_from())["type"] == "echo"


async def test_a_hog_that_shedding_cannot_cure_costs_half_the_sockets_in_five_seconds(
    node, sockets
):
    """Pressure from CPU stays at 1.0 however many go: the cap stops at half, still shedding."""
    node.apply_config(NodeConfig(ws_limit=100, shed_above=95))
    opened = [(await sockets.connect("client=bot"))[0] for _ in range(10)]
    node.latest_pressure = 1.0  # the reporter's reading of a CPU hog
    shed = sum(node.shedder.tick(ms) for ms in range(0, CAP_WINDOW_MS, 200))
    assert shed == 5 and node.overload_counters.shedding
    codes = [(await output_until_close(socket))[1] for socket in opened[5:]]  # the newest five
    assert codes == [close_codes.SHED] * 5 and len(node.sockets) == 5
