"""Chat across real nodes and a real Redis: both broadcast modes, recovery, presence, bad input."""

import asyncio
import json
import os
import signal

import pytest
import redis

from archviz.chat import keys as chat_keys
from archviz.chat.client import ChatClient, running
from archviz.core import close_codes, keys
from tests.chat.conftest import all_running, clients_on, lb_url, node_url, set_mode
from tests.harness.clients import lab_socket, login_cookies, next_frame
from tests.harness.lab import RunningLab

pytestmark = pytest.mark.integration


def texts(client: ChatClient) -> list[str]:
    return [m["text"] for m in client.messages]


def ledger(lab: RunningLab, room: str) -> dict:
    return next(r["ledger"] for r in lab.get_json("/api/chat/state")["rooms"] if r["name"] == room)


async def test_redis_mode_reaches_clients_on_every_node(chat_lab: RunningLab) -> None:
    """In Redis mode a message sent on node-1 reaches clients on node-1, node-2 and node-3."""
    await set_mode(chat_lab, "redis")
    async with clients_on(chat_lab, "r-redis", ("ann", "node-1"), ("bo", "node-2"),
                          ("cy", "node-3")) as (ann, bo, cy):  # fmt: skip
        await ann.send("hello everyone")
        for client in (ann, bo, cy):
            await client.wait_until(lambda c=client: texts(c) == ["hello everyone"], "delivery")
        assert bo.messages[0]["node"] == "node-1" and bo.messages[0]["seq"] == 1
    view = chat_lab.get_json("/api/chat/state")
    assert view["mode"] == "redis"


async def test_local_mode_reaches_only_the_senders_node(chat_lab: RunningLab) -> None:
    """In local mode (InMemoryChannelLayer) node-2's client never gets node-1's message."""
    await set_mode(chat_lab, "local")
    try:
        async with clients_on(chat_lab, "r-local", ("ann", "node-1"), ("al", "node-1"),
                              ("bo", "node-2")) as (ann, al, bo):  # fmt: skip
            await ann.send("only node-1 hears this")
            await al.wait_until(lambda: texts(al) == ["only node-1 hears this"], "same-node copy")
            await bo.send("bo's own")  # a fence: node-2 has handled later traffic
            await bo.wait_until(lambda: "bo's own" in texts(bo), "bo's own message")
            assert texts(bo) == ["bo's own"]
        chat_lab.wait_until(lambda s: ledger(chat_lab, "r-local")["missed_local"] >= 2,
                            "the ledger counting who did not get them")  # fmt: skip
    finally:
        await set_mode(chat_lab, "redis")


async def test_a_message_released_after_a_local_mode_gap_is_traced_as_delivered(
    chat_lab: RunningLab,
) -> None:
    """Back in Redis mode, node-1's client waits out the gap left by node-2's local message
    and then gets the next one: node-1 traces that delivery (the message paths once called
    the client missed because the release after the gap went untraced)."""
    await set_mode(chat_lab, "redis")
    try:
        async with clients_on(chat_lab, "r-switch", ("ann", "node-1"), ("bo", "node-2")) as (
            ann,
            bo,
        ):
            # Switching takes a login and a probe of every node: by then ann's connection has
            # made its one catch-up check after joining (CATCH_UP_S), which would have
            # settled the gap early, hiding what is tested.
            await set_mode(chat_lab, "local")
            await bo.send("local, node-2 only")
            await bo.wait_until(lambda: len(bo.messages) == 1, "bo's local message")
            await set_mode(chat_lab, "redis")
            await bo.send("redis again")
            await ann.wait_until(lambda: texts(ann) == ["redis again"], "the redis message")
            seq = ann.messages[0]["seq"]
            chat_lab.wait_until(
                lambda s: any(e["src"] == "node-1" and e["detail"]["seq"] == seq
                              and e["detail"]["room"] == "r-switch"
                              for e in _traced(chat_lab, "chat.deliver")),
                "node-1's chat.deliver of the message after the gap",
            )  # fmt: skip
    finally:
        await set_mode(chat_lab, "redis")


def _traced(lab: RunningLab, kind: str) -> list[dict]:
    """The events of this kind in the lab's trace log (the replay stream)."""
    client = redis.Redis.from_url(lab.redis_url)
    try:
        batches = [json.loads(f[b"batch"]) for _id, f in client.xrange(keys.TRACE_LOG)]
    finally:
        client.close()
    return [event for batch in batches for event in batch if event["kind"] == kind]


async def test_reconnect_recovers_missed_messages_in_order_without_duplicates(
    chat_lab: RunningLab,
) -> None:
    """A client that was away gets exactly what it missed, in order, on another node."""
    await set_mode(chat_lab, "redis")
    async with clients_on(chat_lab, "r-recover", ("ann", "node-1")) as (ann,):
        away = ChatClient(node_url(chat_lab, "node-2"), "r-recover", "bo")
        async with running(away):
            await ann.send("before")
            await away.wait_until(lambda: texts(away) == ["before"], "the first message")
        for i in range(5):
            await ann.send(f"missed {i}")
        await ann.wait_until(lambda: len(ann.messages) == 6, "ann's own copies")
        back = ChatClient(node_url(chat_lab, "node-3"), "r-recover", "bo")
        back.last, back.seqs, back.messages = away.last, set(away.seqs), list(away.messages)
        async with running(back):
            await back.wait_until(lambda: len(back.messages) == 6, "the missed messages")
            await ann.send("after")
            await back.wait_until(lambda: len(back.messages) == 7, "the live one after")
    assert texts(back) == ["before"] + [f"missed {i}" for i in range(5)] + ["after"]
    assert [m["seq"] for m in back.messages] == list(range(1, 8))
    assert all(m.get("recovered") for m in back.messages[1:6]) and back.duplicates == 0
    chat_lab.wait_until(lambda s: ledger(chat_lab, "r-recover")["recovered"] >= 5,
                        "the ledger counting the recovered messages")  # fmt: skip


async def test_trimmed_history_says_history_lost_never_silence(chat_lab: RunningLab) -> None:
    """A gap older than the capped history gets an explicit history_lost frame."""
    async with clients_on(chat_lab, "r-lost", ("ann", "node-1")) as (ann,):
        for i in range(4):
            await ann.send(f"m{i}")
        await ann.wait_until(lambda: len(ann.messages) == 4, "ann's own copies")
    client = redis.Redis.from_url(chat_lab.redis_url)
    client.xtrim(
        chat_keys.history("r-lost"), maxlen=1, approximate=False
    )  # as if the cap had passed them
    late = ChatClient(node_url(chat_lab, "node-2"), "r-lost", "late")
    late.last = 1
    async with running(late):
        await late.wait_until(lambda: late.frames_of("history_lost"), "history_lost")
        await late.wait_until(lambda: texts(late) == ["m3"], "what the history kept")
    lost = late.frames_of("history_lost")[0]
    assert (lost["from"], lost["to"], lost["lost"]) == (2, 4, 2) and "reload" in lost["error"]


async def test_join_and_leave_reach_members_on_other_nodes(chat_lab: RunningLab) -> None:
    """A join on node-2 and its clean leave are announced to a member on node-1."""
    async with clients_on(chat_lab, "r-presence", ("ann", "node-1")) as (ann,):
        async with clients_on(chat_lab, "r-presence", ("bo", "node-2")):
            await ann.wait_until(lambda: _presence(ann, "join", "bo"), "bo's join")
        await ann.wait_until(lambda: _presence(ann, "leave", "bo"), "bo's leave")
    assert _presence(ann, "join", "bo")[0]["node"] == "node-2"


def _presence(client: ChatClient, event: str, user: str) -> list[dict]:
    announced = [p for f in client.frames_of("presence") for p in f["events"]]
    return [p for p in announced if p["event"] == event and p["user"] == user]


async def test_bad_input_gets_error_frames_and_others_keep_chatting(chat_lab: RunningLab) -> None:
    """Invalid JSON, unknown types, over-long text, a frame over 16 KiB of UTF-8 and a lone
    surrogate get errors; the socket stays open and the room still works."""
    async with clients_on(chat_lab, "r-bad", ("ann", "node-1"), ("bo", "node-2")) as (ann, bo):
        for raw in ("{nope", json.dumps({"type": "dance"}),
                    json.dumps({"type": "send", "text": "x" * 5000}),
                    json.dumps({"type": "send", "text": "é" * 9000}, ensure_ascii=False),
                    '{"type": "send", "text": "\\ud800"}'):  # fmt: skip
            await ann.send_raw(raw)
        await ann.wait_until(lambda: len(ann.frames_of("error")) == 5, "five errors")
        errors = [f["error"] for f in ann.frames_of("error")]
        assert "malformed JSON" in errors[0] and "unknown frame type" in errors[1]
        assert "4 KiB" in errors[2] and "frame over 16 KiB" in errors[3]
        assert "valid Unicode" in errors[4]
        await ann.send("<img src=x onerror=alert(1)>")
        await bo.wait_until(lambda: texts(bo) == ["<img src=x onerror=alert(1)>"], "delivery")


@pytest.mark.parametrize("room", ["", "x" * 41, "bad%20name"])
async def test_bad_room_names_are_refused_with_a_close_code(chat_lab: RunningLab, room) -> None:
    """Empty, over-long or odd room names get an error frame, then close code 4004."""
    client = ChatClient(node_url(chat_lab, "node-1"), room, "ann", reconnect=False)
    await asyncio.wait_for(client.run(), 10)
    assert "room name" in client.frames_of("error")[0]["error"]
    assert client.closes[-1][1] == close_codes.BAD_ROOM


async def test_flood_is_closed_with_4029_and_others_are_unaffected(chat_lab: RunningLab) -> None:
    """Over 20 messages a second get errors, then close code 4029; the room goes on."""
    async with clients_on(chat_lab, "r-flood", ("calm", "node-1"), ("bo", "node-2")) as (calm, bo):
        flooder = ChatClient(node_url(chat_lab, "node-1"), "r-flood", "flood", reconnect=False)
        task = asyncio.create_task(flooder.run())
        await asyncio.wait_for(flooder.connected.wait(), 10)
        for i in range(80):
            await flooder.send_raw(json.dumps({"type": "send", "text": f"f{i}"}))
        await asyncio.wait_for(task, 10)
        assert flooder.closes[-1][1] == close_codes.FLOODING
        assert any("flooding" in f["error"] for f in flooder.frames_of("error"))
        await calm.send("still fine")
        await bo.wait_until(lambda: "still fine" in texts(bo), "the calm client's message")


async def test_client_that_never_acknowledges_is_closed_as_too_slow(chat_lab: RunningLab) -> None:
    """A reader whose unacknowledged frames pass the cap is closed with 4008 and counted."""
    slow = ChatClient(node_url(chat_lab, "node-2"), "r-slow", "slow", reconnect=False)
    slow._ack_forever = _never_ack
    task = asyncio.create_task(slow.run())
    await asyncio.wait_for(slow.connected.wait(), 10)
    senders = [(f"s{i}", "node-1") for i in range(20)]
    async with clients_on(chat_lab, "r-slow", *senders) as clients:
        await asyncio.gather(*(_send_many(c, 55) for c in clients))
        await asyncio.wait_for(task, 20)
    assert slow.closes[-1][1] == close_codes.TOO_SLOW
    chat_lab.wait_until(lambda s: ledger(chat_lab, "r-slow")["too_slow"] == 1, "too_slow counted")


async def _never_ack(ws) -> None:
    await asyncio.Event().wait()


async def _send_many(client: ChatClient, count: int) -> None:
    for i in range(count):
        await client.send(f"{client.user} {i}")
        await asyncio.sleep(0.06)  # under the 20 per second flood limit


async def test_learner_cannot_switch_the_mode(chat_lab: RunningLab) -> None:
    """The server refuses chat.mode from someone without the control_lab permission."""
    async with lab_socket(chat_lab.url) as ws:
        await next_frame(ws, "welcome")
        await ws.send_json({"type": "chat.mode", "mode": "local"})
        assert "only instructors" in (await next_frame(ws, "error"))["reason"]


async def test_sigkilled_nodes_users_are_detected_offline_on_other_nodes(
    chat_lab: RunningLab,
) -> None:
    """No disconnect handler runs on SIGKILL: heartbeat expiry tells the room, with the time."""
    await set_mode(chat_lab, "redis")
    async with clients_on(chat_lab, "r-kill", ("ann", "node-1")) as (ann,):
        doomed = ChatClient(node_url(chat_lab, "node-3"), "r-kill", "doomed", reconnect=False)
        async with running(doomed):
            await ann.wait_until(lambda: _presence(ann, "join", "doomed"), "doomed's join")
            os.kill(chat_lab.node("node-3")["pid"], signal.SIGKILL)
            await ann.wait_until(lambda: _presence(ann, "offline", "doomed"), "offline", 10)
    offline = _presence(ann, "offline", "doomed")[0]
    assert offline["node"] == "node-3" and offline["detected_by"] in ("node-1", "node-2")
    assert 3_000 <= offline["detect_ms"] <= 8_000
    view = chat_lab.get_json("/api/chat/state")
    assert any(p["event"] == "offline" and p["user"] == "doomed" for p in view["presence"])
    chat_lab.wait_for_ready(3)


async def test_clients_through_the_lb_talk_across_nodes(chat_lab: RunningLab) -> None:
    """Clients connected through the load balancer land on nodes and all hear each other."""
    await set_mode(chat_lab, "redis")
    clients = [ChatClient(lb_url(chat_lab), "r-lb", f"u{i}") for i in range(6)]
    async with all_running(clients) as connected:
        await connected[0].send("via the LB")
        for c in connected:
            await c.wait_until(lambda c=c: "via the LB" in texts(c), "delivery through the LB")
        assert len({c.node for c in connected}) >= 2


async def test_instructor_adds_bots_that_join_through_the_lb(chat_lab: RunningLab) -> None:
    """chat.bots from an instructor: the bots process keeps that many bots in the room."""
    cookies = await login_cookies(chat_lab.url, "teacher", "chat-pass-123")
    async with lab_socket(chat_lab.url, cookies=cookies) as ws:
        await next_frame(ws, "welcome")
        await ws.send_json({"type": "chat.bots", "room": "r-bots", "count": 3})
        await next_frame(ws, "ack", lambda f: f["action"] == "chat.bots")
        state = chat_lab.wait_until(
            lambda s: _bots(chat_lab).get("r-bots", {}).get("connected") == 3, "3 bots connected"
        )
        assert state is not None
        await ws.send_json({"type": "chat.bots", "room": "r-bots", "count": 0})
        await next_frame(ws, "ack", lambda f: f["action"] == "chat.bots")
    chat_lab.wait_until(lambda s: "r-bots" not in _bots(chat_lab), "the bots removed")


def _bots(lab: RunningLab) -> dict:
    return (lab.get_json("/api/chat/state")["bots"] or {}).get("rooms", {})


async def test_a_client_that_reconnects_acknowledges_its_new_connection_only(
    chat_lab: RunningLab,
) -> None:
    """After a reconnect the client acks what this connection brought (the node counts per
    connection and refuses an ack of more than it sent): no refusal, no error frame."""
    await set_mode(chat_lab, "redis")
    async with clients_on(chat_lab, "r-reack", ("cy", "node-1"), ("di", "node-2")) as (cy, di):
        for i in range(3):
            await cy.send(f"first {i}")
        await di.wait_until(lambda: len(di.messages) == 3, "the first messages")
        await di._ws.close()  # the client reconnects by itself, with its count so far
        await di.wait_until(lambda: len(di.closes) == 1 and di.connected.is_set(), "back")
        await cy.send("second")
        await di.wait_until(lambda: len(di.messages) == 4, "the message after the reconnect")
        before = len(di.frames)
        await asyncio.sleep(2.5)  # two ack periods: the acks themselves are what is tested
    assert [f for f in di.frames[before:] if f.get("type") == "error"] == []
    assert ledger(chat_lab, "r-reack").get("refused", 0) == 0
