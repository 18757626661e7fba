"""Logging in, in process with a real Redis: the APIs' login rule and the throttled log-in page."""

import pytest
from django.test import Client

from archviz.dashboard import keys as dashboard_keys
from archviz.dashboard.login import MAX_FAILURES, WINDOW_S

pytestmark = pytest.mark.django_db
LOGIN = "/accounts/login/"
PASSWORD = "right-password-93"


@pytest.fixture
def ingrid(settings, django_user_model, redis_url):
    """A user, with a fast password hasher: these tests log in many times."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return django_user_model.objects.create_user("ingrid", password=PASSWORD)


def _log_in(client: Client, username: str, password: str, address: str):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


def _logged_in(response) -> bool:
    return response.status_code == 302


@pytest.mark.parametrize("api", ["/api/lab/state", "/api/chat/state"])
def test_the_state_apis_answer_401_without_a_login_when_one_is_required(
    settings, client: Client, ingrid, api: str
) -> None:
    """ARCHVIZ_REQUIRE_LOGIN covers the JSON APIs too: 401 with a JSON reason, 200 once in."""
    assert client.get(api).status_code == 200  # the rule is off by default
    settings.ARCHVIZ_REQUIRE_LOGIN = True
    refused = client.get(api)
    assert refused.status_code == 401
    assert refused.json()["error"] == f"login required: log in at {LOGIN} first"
    client.force_login(ingrid)
    assert client.get(api).status_code == 200


def test_an_address_that_keeps_failing_is_refused_even_the_right_password(
    client: Client, ingrid, redis_client
) -> None:
    """After MAX_FAILURES["ip"] failures from one address (whatever the usernames) it gets 429
    and a clear message, and the password is not even checked; another address logs in."""
    for i in range(MAX_FAILURES["ip"]):
        assert _log_in(client, f"guess-{i}", "wrong", "10.0.0.7").status_code == 200
    refused = _log_in(client, "ingrid", PASSWORD, "10.0.0.7")
    assert refused.status_code == 429
    assert "Too many failed log-in attempts" in refused.content.decode()
    assert "try again in 15 minutes" in refused.content.decode()
    assert 0 < redis_client.ttl(dashboard_keys.login_failures("ip", "10.0.0.7")) <= WINDOW_S
    assert _logged_in(_log_in(client, "ingrid", PASSWORD, "10.0.0.8"))


def test_a_username_that_keeps_failing_is_refused_from_every_address(
    client: Client, ingrid
) -> None:
    """Failures for one username from several addresses lock that username for the window,
    and no other; one address alone cannot lock it (its own limit comes first)."""
    addresses = [f"10.0.1.{i}" for i in range(4)]
    for n in range(MAX_FAILURES["user"]):
        _log_in(client, "Ingrid", "wrong", addresses[n % len(addresses)])
    assert _log_in(client, "ingrid", PASSWORD, "10.0.2.1").status_code == 429
    assert _log_in(client, "someone-else", "wrong", "10.0.2.2").status_code == 200
    assert MAX_FAILURES["ip"] < MAX_FAILURES["user"]


def test_the_right_password_clears_its_usernames_failures(client: Client, ingrid) -> None:
    """A few mistakes then the right password: the username's count starts again."""
    for i in range(MAX_FAILURES["ip"] - 1):
        _log_in(client, "ingrid", "wrong", f"10.0.3.{i}")
    assert _logged_in(_log_in(client, "ingrid", PASSWORD, "10.0.4.1"))
    client.logout()
    for i in range(MAX_FAILURES["user"] - 1):
        _log_in(client, "ingrid", "wrong", f"10.0.5.{i}")
    assert _logged_in(_log_in(client, "ingrid", PASSWORD, "10.0.6.1"))


def test_the_admins_log_in_form_sends_people_to_the_throttled_one(client: Client) -> None:
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302 and response["Location"] == f"{LOGIN}?next=/admin/"
