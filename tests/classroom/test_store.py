"""The class in a real Redis: one class at a time, codes that expire with it, members by
token, state changed whole and published on the class channel."""

import json

import pytest
import redis

from archviz.classroom import keys, store
from archviz.classroom.rules import BadInput


def test_starting_twice_gives_the_same_class(redis_client: redis.Redis) -> None:
    first = store.start(redis_client, "ingrid")
    assert store.start(redis_client, "other") == first
    assert store.current(redis_client)["code"] == first["code"]


def test_every_key_of_a_class_has_a_ttl(redis_client: redis.Redis) -> None:
    running = store.start(redis_client, "ingrid")
    store.join(redis_client, running["code"], "Ada")
    class_keys = redis_client.keys("archviz:class:*")
    assert len(class_keys) >= 5
    assert all(0 < redis_client.ttl(key) <= store.TTL_S for key in class_keys)


def test_a_wrong_code_is_refused_in_words(redis_client: redis.Redis) -> None:
    store.start(redis_client, "ingrid")
    with pytest.raises(BadInput, match="no class has the code ACDEFG"):
        store.join(redis_client, "ACDEFG", "Ada")


def test_an_ended_class_code_no_longer_joins(redis_client: redis.Redis) -> None:
    code = store.start(redis_client, "ingrid")["code"]
    store.end(redis_client)
    assert store.current(redis_client) is None
    with pytest.raises(BadInput, match="may have ended"):
        store.join(redis_client, code, "Ada")


def test_an_expired_class_code_no_longer_joins(redis_client: redis.Redis) -> None:
    """When the class's keys expire (its TTL passed), its code is refused."""
    code = store.start(redis_client, "ingrid")["code"]
    redis_client.delete(keys.code(code))  # what expiry does to it
    with pytest.raises(BadInput, match="may have ended"):
        store.join(redis_client, code, "Ada")


def test_members_are_known_by_their_token_only(redis_client: redis.Redis) -> None:
    code = store.start(redis_client, "ingrid")["code"]
    class_id, token = store.join(redis_client, code, "Ada")
    assert store.member_name(redis_client, class_id, token) == "Ada"
    with pytest.raises(BadInput, match="not in this class"):
        store.heartbeat(redis_client, class_id, "forged-token", "follow")
    store.heartbeat(redis_client, class_id, token, "free")
    assert store.roster_of(redis_client, class_id) == [{"name": "Ada", "state": "free"}]


def test_an_update_is_published_whole_without_the_code(redis_client: redis.Redis) -> None:
    class_id = store.start(redis_client, "ingrid")["id"]
    pubsub = redis_client.pubsub()
    pubsub.subscribe(keys.CHANNEL)
    assert pubsub.get_message(timeout=5)["type"] == "subscribe"
    store.update(redis_client, class_id, lambda state: state | {"paused": True})
    message = pubsub.get_message(timeout=5)
    frame = json.loads(message["data"])
    assert frame["type"] == "class" and frame["state"]["paused"] is True
    assert frame["state"]["seq"] == 1 and "code" not in frame["state"]
    pubsub.close()


def test_answers_only_while_a_question_is_open(redis_client: redis.Redis) -> None:
    code = store.start(redis_client, "ingrid")["code"]
    class_id, token = store.join(redis_client, code, "Ada")
    with pytest.raises(BadInput, match="no question is open"):
        store.answer(redis_client, class_id, token, 0)
    poll = {"lesson": "x", "step": 0, "question": "?", "choices": ["a", "b"], "state": "open"}
    store.update(redis_client, class_id, lambda state: state | {"poll": poll})
    with pytest.raises(BadInput, match="number of an answer"):
        store.answer(redis_client, class_id, token, 2)
    store.answer(redis_client, class_id, token, 1)
    store.answer(redis_client, class_id, token, 1)  # a change of mind counts once
    assert store.counts(redis_client, class_id, ["a", "b"]) == [0, 1]
