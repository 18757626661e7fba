"""The lab page's requests on the lab socket: ping a node; instructors control and scale nodes."""

import asyncio
import secrets
import weakref
from typing import Literal, TypedDict

import aiohttp

from archviz.core import registry
from archviz.core.control import NODE_ID
from archviz.core.http import LAB_CLIENT_HEADER, lab_client_token
from archviz.core.instructor import ControlRefused, User
from archviz.core.labsocket import AckFrame, ack, socket_handler
from archviz.core.redis_conn import shared_client
from archviz.dashboard.control import add_node, configure_node, remove_node, request_control
from archviz.dashboard.feed import feed
from archviz.dashboard.messages import PongFrame
from archviz.trace.emitter import get_emitter
from archviz.trace.events import new_trace_id, now_ms

PING_TIMEOUT_S = 3.0


class PingRequest(TypedDict):
    type: Literal["ping"]
    node: str


class ControlRequest(TypedDict):
    type: Literal["control"]
    action: str  # kill, stop, restart, pause or resume (checked with the permission)
    node: str


class NodeConfigRequest(TypedDict):
    type: Literal["node.config"]
    node: str
    settings: dict  # some of weight, capacity, latency_ms, jitter_ms


class NodeAddRequest(TypedDict):
    type: Literal["node.add"]


class NodeRemoveRequest(TypedDict):
    type: Literal["node.remove"]
    node: str


class _Refused(ControlRefused):
    def __init__(self, reason: str) -> None:
        super().__init__(reason, 400)


@socket_handler(PingRequest)
async def ping(user: User, message: PingRequest) -> PongFrame:
    """dashboard -> node (HTTP) -> Redis (pub/sub) -> dashboard, each hop traced."""
    node = message["node"]
    if not NODE_ID.fullmatch(node):
        raise _Refused(f"bad node id {node!r}")
    found = await asyncio.to_thread(registry.trusted_lookup, shared_client(), "node", node)
    if found is None:
        raise _Refused(f"{node} is not up: no registration in Redis matches the supervisor's")
    trace, nonce = new_trace_id(), secrets.token_hex(16)
    pong = feed.expect_pong(trace, nonce)
    request = get_emitter().emit("http.request", node, trace=trace, detail={"path": "/ping"})
    try:
        answer = await _post_ping(found, trace, nonce)
        await asyncio.wait_for(pong, PING_TIMEOUT_S)
    except (aiohttp.ClientError, TimeoutError, _NodeRefused) as exc:
        pong.cancel()
        reason = (
            f"{node} refused the ping: {exc}"
            if isinstance(exc, _NodeRefused)
            else f"{node} did not answer: {exc.__class__.__name__ or 'timeout'}"
        )
        get_emitter().emit(
            "http.response", "dashboard", src=node, trace=trace, ok=False,
            ms=now_ms() - request["ts"], detail={"reason": reason},
        )  # fmt: skip
        raise _Refused(reason) from None
    get_emitter().emit(
        "pubsub.deliver",
        "dashboard",
        src="redis",
        trace=trace,
        ms=now_ms() - pong.result()["ts"],
        detail={"from": str(pong.result().get("node", node))},  # the node whose pong it was
    )
    return PongFrame(type="pong", trace=trace, node=node, ms=round(now_ms() - request["ts"], 2),
                     count=answer.get("count", 0))  # fmt: skip


class _NodeRefused(Exception):
    """The node answered the ping with a refusal (too many pings); the message is its reason."""


# One HTTP client per event loop for every tab's pings: a session (and a TCP connection)
# per ping cost the dashboard's loop work on every ping, from every tab.
_SESSIONS: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aiohttp.ClientSession]" = (
    weakref.WeakKeyDictionary()
)


def _ping_session() -> aiohttp.ClientSession:
    loop = asyncio.get_running_loop()
    session = _SESSIONS.get(loop)
    if session is None or session.closed:
        timeout = aiohttp.ClientTimeout(total=PING_TIMEOUT_S)
        # The lab-client header proves these pings are the dashboards': the node gives them
        # their own tokens, which no flood from elsewhere can spend.
        headers = {LAB_CLIENT_HEADER: lab_client_token()}
        session = _SESSIONS[loop] = aiohttp.ClientSession(timeout=timeout, headers=headers)
    return session


async def _post_ping(found: registry.Registration, trace: str, nonce: str) -> dict:
    url = f"http://{found.address}/ping"
    params = {"trace": trace, "nonce": nonce}
    async with _ping_session().post(url, params=params) as response:
        if response.status in (403, 429):
            raise _NodeRefused(await _refusal_reason(response))
        response.raise_for_status()
        return await response.json()


async def _refusal_reason(response: aiohttp.ClientResponse) -> str:
    try:
        reason = (await response.json(content_type=None)).get("error")
    except (ValueError, AttributeError):
        reason = None
    return str(reason or f"HTTP {response.status}")[:200]


@socket_handler(ControlRequest, sets=("nodes",))
async def control(user: User, message: ControlRequest) -> AckFrame:
    await request_control(user, message["action"], message["node"])
    return ack(message["action"], message["node"])


@socket_handler(NodeConfigRequest, sets=("nodes",))
async def node_config(user: User, message: NodeConfigRequest) -> AckFrame:
    await configure_node(user, message["node"], message["settings"])
    return ack("node.config", message["node"])


@socket_handler(NodeAddRequest, sets=("nodes",))
async def node_add(user: User, message: NodeAddRequest) -> AckFrame:
    return ack("node.add", await add_node(user))


@socket_handler(NodeRemoveRequest, sets=("nodes",))
async def node_remove(user: User, message: NodeRemoveRequest) -> AckFrame:
    await remove_node(user, message["node"])
    return ack("node.remove", message["node"])
