"""Replay on the lab socket, in this process on the real Redis: the same state and trace
frames as live, flagged as replay, from the nearest keyframe; then back to live. Bad
requests get clear errors; a replay for the class is an instructor's."""

import json

from archviz.recorder import replay
from archviz.recorder.fileformat import store
from archviz.recorder.keys import CLASS_REPLAY, REPLAY_CHANNEL
from archviz.recorder.replay import replays
from tests.harness.clients import output_frame
from tests.recorder.conftest import RUN, START_MS


async def _ask(communicator, message: dict, kind: str, matches=lambda f: True) -> dict:
    await communicator.send_to(text_data=json.dumps(message))
    return await output_frame(communicator, kind, matches)


async def test_a_replay_draws_the_node_going_down_and_up_then_goes_back_live(
    connect, recorded_run
) -> None:
    """From +3.5 s at 8x: the keyframe at +3 s (up), the kill (down), up again, then live."""
    communicator, _ = await connect()
    start = START_MS + 3500
    request = {"type": "replay", "start": start, "recording": RUN, "speed": 8}
    first = await _ask(communicator, request, "state", lambda f: "replay" in f)
    assert first["replay"]["start"] == START_MS + 3000  # the nearest keyframe before
    assert first["state"]["nodes"][0]["status"] == "up"
    seen, live = [], None
    while live is None:
        message = json.loads((await communicator.receive_output(timeout=10))["text"])
        if message["type"] == "state" and "replay" not in message:
            live = message
        elif message["type"] == "state":
            seen.append(message["state"]["nodes"][0]["status"])
        elif message["type"] == "trace":
            assert message["replay"]["speed"] == 8
            seen.extend(event["kind"] for event in message["events"])
    assert seen == ["up", "down", "node.down", "down", "up", "node.up", "up", "up", "up"]
    assert live["state"]["ts"] > START_MS + 10**9  # the lab's own state, now


async def test_back_to_live_stops_the_replay(connect, recorded_run) -> None:
    """replay.stop answers with the live state; no replayed frame follows."""
    communicator, _ = await connect()
    request = {"type": "replay", "start": START_MS, "recording": RUN, "speed": 0.25}
    await _ask(communicator, request, "state", lambda f: "replay" in f)
    live = await _ask(communicator, {"type": "replay.stop"}, "state", lambda f: "replay" not in f)
    assert live["state"]["ts"] > START_MS + 10**9
    assert replays.replaying == 0


async def test_a_replay_beyond_the_recorded_range_is_refused(connect, recorded_run) -> None:
    """Outside the recording, a bad speed or an unknown recording: a clear error."""
    communicator, _ = await connect()
    cases = [
        ({"start": START_MS + 60_000, "recording": RUN, "speed": 1}, "beyond the recorded range"),
        ({"start": START_MS - 60_000, "recording": RUN, "speed": 1}, "beyond the recorded range"),
        (
            {"start": START_MS, "end": START_MS + 60_000, "recording": RUN, "speed": 1},
            "beyond the recorded range",
        ),
        ({"start": START_MS, "recording": RUN, "speed": 16}, "speed must be from 0.25x to 8x"),
        ({"start": START_MS, "recording": RUN, "speed": 0.1}, "speed must be from 0.25x to 8x"),
        ({"start": START_MS, "speed": 1, "recording": "nope"}, "no recording named 'nope'"),
        ({"start": "soon", "recording": RUN, "speed": 1}, "start must be a whole number"),
    ]
    for fields, says in cases:
        error = await _ask(communicator, {"type": "replay"} | fields, "error")
        assert says in error["reason"], (fields, error)
    # and the socket still serves: a good replay after the bad ones plays
    good = {"type": "replay", "start": START_MS, "recording": RUN, "speed": 8}
    await _ask(communicator, good, "state", lambda f: "replay" in f)


async def test_nothing_recorded_is_said(connect, redis_client) -> None:
    """With nothing recorded a replay says so."""
    store(redis_client, "empty", [])
    communicator, _ = await connect()
    request = {"type": "replay", "start": START_MS, "recording": "empty", "speed": 1}
    error = await _ask(communicator, request, "error")
    assert "nothing is recorded yet" in error["reason"]


async def test_a_learner_cannot_replay_for_the_class(connect, recorded_run, redis_client) -> None:
    """everyone: true from a learner is refused on the server, and nothing is published."""
    communicator, _ = await connect()
    listener = redis_client.pubsub()
    listener.subscribe(REPLAY_CHANNEL)
    everyone = {"type": "replay", "start": START_MS, "recording": RUN, "speed": 1, "everyone": True}
    for message in (everyone, {"type": "replay.stop", "everyone": True}):
        error = await _ask(communicator, message, "error")
        assert "only instructors" in error["reason"]
    assert listener.get_message(timeout=1)["type"] == "subscribe"
    assert listener.get_message(timeout=0.5) is None
    listener.close()


async def test_an_instructors_replay_plays_in_every_tab(
    connect, recorded_run, instructor_session
) -> None:
    """An instructor's replay for everyone reaches a learner's tab too, and stops for it."""
    learner, _ = await connect()
    instructor, _ = await connect(instructor_session)
    request = {
        "type": "replay",
        "start": START_MS,
        "recording": RUN,
        "speed": 0.25,
        "everyone": True,
    }
    await _ask(instructor, request, "state", lambda f: "replay" in f)
    seen = await output_frame(learner, "state", lambda f: "replay" in f)
    assert seen["replay"]["everyone"] is True and seen["replay"]["by"] == "ingrid"
    await _ask(instructor, {"type": "replay.stop", "everyone": True}, "state")
    await output_frame(learner, "state", lambda f: "replay" not in f)


async def test_a_tab_opened_during_the_class_replay_joins_it_where_the_class_is(
    connect, recorded_run, instructor_session
) -> None:
    """A learner who opens the page while the class watches a replay gets the replay, from
    the keyframe before where the class is (not the start, not the live lab); after the
    instructor's stop it is live like the rest."""
    instructor, _ = await connect(instructor_session)
    request = {"type": "replay", "start": START_MS, "recording": RUN, "speed": 2,
               "everyone": True}  # fmt: skip
    await _ask(instructor, request, "state", lambda f: "replay" in f)
    moved_on = await output_frame(
        instructor, "state", lambda f: "replay" in f and f["replay"]["at"] >= START_MS + 2000
    )
    late, _ = await connect()
    first = await output_frame(late, "state", lambda f: "replay" in f)
    assert first["replay"]["everyone"] is True and first["replay"]["by"] == "ingrid"
    assert first["replay"]["at"] >= moved_on["replay"]["at"]  # where the class is, or later
    assert first["replay"]["start"] == START_MS  # the class's replay, its own timeline
    await _ask(instructor, {"type": "replay.stop", "everyone": True}, "state")
    live = await output_frame(late, "state", lambda f: "replay" not in f)
    assert live["state"]["ts"] > START_MS + 10**9


async def test_a_dashboard_that_was_not_listening_when_the_class_replay_began_joins_it(
    connect, recorded_run, redis_client
) -> None:
    """The class's replay is kept in Redis while it plays: a dashboard process that was not
    subscribed when it was published (started later, or away from Redis) still plays it to
    its tabs where the class is; and after the stop, which removes it, they are live."""
    message = {"start": START_MS, "recording": RUN, "speed": 2}
    plan = replay.plan_for(redis_client, message, "ingrid", everyone=True)
    assert replay.publish_for_class(redis_client, "start", plan) == 0  # nobody listened
    assert 0 < redis_client.pttl(CLASS_REPLAY) <= 9000 / 2 + 1000  # kept till it ends
    tab, _ = await connect()
    first = await output_frame(tab, "state", lambda f: "replay" in f)
    assert first["replay"]["everyone"] is True and first["replay"]["by"] == "ingrid"
    assert replays.replaying == 1
    assert replay.publish_for_class(redis_client, "stop") == 1  # this process listens now
    assert not redis_client.exists(CLASS_REPLAY)
    live = await output_frame(tab, "state", lambda f: "replay" not in f)
    assert live["state"]["ts"] > START_MS + 10**9
