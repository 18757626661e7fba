"""The chat mode an instructor asks for is stored, so a node whose chat has not started yet
(no chat socket so far, so no one listening for the command) still follows it."""

from archviz.chat import keys as chat_keys
from archviz.core import labsocket


async def test_the_asked_mode_is_stored_for_nodes_not_listening_yet(
    instructor_user, redis_client, dashboard_emitter, control_channel
) -> None:
    assert redis_client.get(chat_keys.MODE) is None
    handler = labsocket.handler_for("chat.mode")
    assert await handler(instructor_user, {"type": "chat.mode", "mode": "local"}) == {
        "type": "ack",
        "action": "chat.mode",
    }
    assert redis_client.get(chat_keys.MODE) == b"local"
