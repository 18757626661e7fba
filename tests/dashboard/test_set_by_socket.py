"""The lab socket says where its changes come from: the page it was opened from (its
`?page=`) is recorded with who set what, and every tab's state frame carries it."""

from archviz.core import set_by
from tests.conftest import INSTRUCTOR
from tests.dashboard.conftest import Connect
from tests.harness.clients import ControlChannel, output_frame

TRAFFIC = {"type": "traffic", "rate": 20, "work_ms": 5, "variance_ms": 0, "ws_clients": 0}


async def test_the_queue_pages_traffic_reaches_the_lb_pages_state(
    connect: Connect, instructor_session: str, control_channel: ControlChannel, redis_client
) -> None:
    """Set from the queue page's socket; the LB page's socket gets it in its state."""
    queue_page, _ = await connect(instructor_session, path="/ws/lab/?page=/queue/")
    lb_page, _ = await connect(path="/ws/lab/?page=/lb/")
    await queue_page.send_json_to(TRAFFIC)
    assert await output_frame(queue_page, "ack") == {"type": "ack", "action": "traffic"}
    frame = await output_frame(lb_page, "state", lambda f: "traffic" in f["state"]["set_by"])
    entry = frame["state"]["set_by"]["traffic"]
    assert (entry["by"], entry["page"]) == (INSTRUCTOR, "/queue/")


async def test_a_page_that_is_no_path_is_recorded_as_unknown(
    connect: Connect, instructor_session: str, control_channel: ControlChannel, redis_client
) -> None:
    """A `?page=` that is not a short path of the dashboard is not repeated to every tab."""
    socket, _ = await connect(instructor_session, path="/ws/lab/?page=%3Cb%3Ehi%3C/b%3E")
    await socket.send_json_to(TRAFFIC)
    await output_frame(socket, "ack")
    assert set_by.read(redis_client)["traffic"]["page"] == ""


async def test_a_refused_change_sets_nothing(
    connect: Connect, instructor_session: str, control_channel: ControlChannel, redis_client
) -> None:
    """An error frame answers it, and no page would say it was set."""
    socket, _ = await connect(instructor_session, path="/ws/lab/?page=/queue/")
    await socket.send_json_to({"type": "lb.algorithm", "algorithm": "telepathy"})
    assert (await output_frame(socket, "error"))["request"] == "lb.algorithm"
    assert set_by.read(redis_client) == {}


async def test_the_chat_bots_and_the_gateway_scenario_say_who_set_them(
    connect: Connect, instructor_session: str, control_channel: ControlChannel, redis_client
) -> None:
    """The chat page's bots and the gateway page's scenarios are shared state too: a lesson
    that sets them is named on those pages."""
    chat, _ = await connect(instructor_session, path="/ws/lab/?page=/chat/")
    await chat.send_json_to({"type": "chat.bots", "room": "lobby", "count": 3})
    assert await output_frame(chat, "ack") == {"type": "ack", "action": "chat.bots"}
    gateway, _ = await connect(instructor_session, path="/ws/lab/?page=/gateway/")
    await gateway.send_json_to({"type": "gateway.bots", "count": 2})
    assert await output_frame(gateway, "ack") == {"type": "ack", "action": "gateway.bots"}
    found = set_by.read(redis_client)
    assert (found["chat.bots"]["by"], found["chat.bots"]["page"]) == (INSTRUCTOR, "/chat/")
    assert (found["gateway"]["by"], found["gateway"]["page"]) == (INSTRUCTOR, "/gateway/")
