"""The one-time sign-in link's page, in process with Django's test client and a real Redis."""

import re
import secrets
from collections.abc import Iterator

import pytest
from django.contrib.auth import get_user, get_user_model
from django.test import Client

from archviz.core import signin_links
from archviz.core.instructor import PERMISSION
from archviz.dashboard.solo import USERNAME
from archviz.lab.embedded_redis import EmbeddedRedis

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("redis_url")]
BUTTON = """<button type="submit" class="primary">Sign in as the lab's instructor</button>"""


@pytest.fixture
def here() -> Client:
    """A browser on the lab's machine, checked for CSRF as a real one is."""
    return Client(enforce_csrf_checks=True, REMOTE_ADDR="127.0.0.1")


@pytest.fixture
def token(redis_client) -> str:
    return signin_links.issue(redis_client)


def _link(token: str) -> str:
    return f"{signin_links.PATH}{token}"


def _press_the_button(here: Client, token: str, **extra):
    """What a person does: open the link, then press its button (the form's CSRF token)."""
    page = here.get(_link(token), **extra)
    assert page.status_code == 200, page.content
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    return here.post(_link(token), {"csrfmiddlewaretoken": csrf.group(1)}, **extra)


def test_opening_the_link_asks_and_does_not_use_it_up(here: Client, token: str) -> None:
    """A GET (a link previewer's too) shows the button; the link still works after it."""
    for _ in range(3):
        page = here.get(_link(token))
        assert page.status_code == 200
        assert BUTTON in page.content.decode()
        assert page["Referrer-Policy"] == "same-origin"
        assert "no-store" in page["Cache-Control"]
        assert token not in page.content.decode()  # not even in the header's log-in link
    assert not get_user(here).is_authenticated
    assert _press_the_button(here, token).status_code == 302


def test_pressing_the_button_signs_in_the_instructor_once(here: Client, token: str) -> None:
    """The POST signs in "solo", an instructor with no password, and goes home; the link is
    then used up (410), also for another browser."""
    signed_in = _press_the_button(here, token)
    assert (signed_in.status_code, signed_in["Location"]) == (302, "/")
    user = get_user(here)
    assert user.get_username() == USERNAME
    assert user.has_perm(PERMISSION)
    assert not user.has_usable_password()
    assert not user.is_superuser
    again = _press_the_button(Client(enforce_csrf_checks=True), token)
    assert again.status_code == 410
    assert "used or has expired" in again.content.decode()


def test_a_second_link_signs_in_the_same_account(here: Client, redis_client) -> None:
    """The solo account is made once and reused."""
    for _ in range(2):
        assert (
            _press_the_button(
                Client(enforce_csrf_checks=True), signin_links.issue(redis_client)
            ).status_code
            == 302
        )
    assert get_user_model().objects.filter(username=USERNAME).count() == 1


def test_a_deactivated_solo_account_is_refused_and_the_link_kept(
    here: Client, token: str, redis_client
) -> None:
    """The admin turns the links off by deactivating "solo"; on again, the link works."""
    assert _press_the_button(here, signin_links.issue(redis_client)).status_code == 302
    solo = get_user_model().objects.get(username=USERNAME)
    solo.is_active = False
    solo.save()
    refused = _press_the_button(Client(enforce_csrf_checks=True), token)
    assert refused.status_code == 403
    assert "deactivated" in refused.content.decode()
    solo.is_active = True
    solo.save()
    assert _press_the_button(Client(enforce_csrf_checks=True), token).status_code == 302


def test_an_unknown_link_is_gone(here: Client) -> None:
    refused = _press_the_button(here, secrets.token_urlsafe(32))
    assert refused.status_code == 410
    assert not get_user(here).is_authenticated


def test_a_post_without_the_forms_csrf_token_is_refused_and_leaves_the_link(
    here: Client, token: str
) -> None:
    """A cross-site form cannot spend the link (or sign anyone in with it)."""
    assert here.post(_link(token)).status_code == 403
    assert not get_user(here).is_authenticated
    assert _press_the_button(here, token).status_code == 302


def test_another_machine_is_refused_unless_the_lab_is_for_a_class(settings, token: str) -> None:
    """From another address: 403 with ARCHVIZ_HOST loopback (and the link kept); allowed
    when the lab was started for a class."""
    other = Client(enforce_csrf_checks=True, REMOTE_ADDR="10.0.0.7")
    refused = other.get(_link(token))
    assert refused.status_code == 403
    assert "only on the lab&#x27;s own machine" in refused.content.decode()
    assert BUTTON not in refused.content.decode()
    settings.ARCHVIZ_HOST = "0.0.0.0"
    assert _press_the_button(other, token).status_code == 302
    assert get_user(other).has_perm(PERMISSION)


def test_a_refused_post_from_another_machine_does_not_use_the_link(
    settings, here: Client, token: str
) -> None:
    other = Client(REMOTE_ADDR="10.0.0.7")  # no CSRF check: the address alone refuses it
    assert other.post(_link(token)).status_code == 403
    assert _press_the_button(here, token).status_code == 302


@pytest.fixture
def stopped_redis(settings, redis_url) -> Iterator[None]:
    """The lab's Redis has gone: a real redis-server, started and stopped."""
    server = EmbeddedRedis(password=secrets.token_urlsafe(16)).start()
    server.stop()
    settings.ARCHVIZ_REDIS_URL = server.url
    yield


def test_redis_unreachable_is_a_503_in_words(here: Client, stopped_redis) -> None:
    refused = _press_the_button(here, secrets.token_urlsafe(32))
    assert refused.status_code == 503
    assert "Redis cannot be reached" in refused.content.decode()
    assert not get_user(here).is_authenticated
