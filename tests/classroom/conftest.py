"""The class's tests: the lab socket in this process (the dashboard's fixtures), and a
learner who joined through the real join view."""

import pytest
from django.conf import settings
from django.test import Client

from tests.dashboard.conftest import connect, instructor_session  # noqa: F401  (fixtures)


@pytest.fixture
def instructor_client(instructor_user) -> Client:
    client = Client()
    client.force_login(instructor_user)
    return client


@pytest.fixture
def running_class(redis_url: str, instructor_client: Client) -> dict:
    """A class started through the instructor's HTTP form; its state with its join code."""
    from archviz.classroom import store
    from archviz.core.redis_conn import shared_client

    assert instructor_client.post("/class/start/").status_code == 302
    return store.current(shared_client())


@pytest.fixture
def learner(running_class: dict) -> tuple[Client, str]:
    """A learner who joined with the code: their client, and their session's member token."""
    client = Client()
    answer = client.post("/class/join/", {"code": running_class["code"], "name": "Ada"})
    assert answer.status_code == 302, answer.content
    return client, client.session["class"]["member"]


def session_key(client: Client) -> str:
    return client.cookies[settings.SESSION_COOKIE_NAME].value
