"""The overload page: a learner sees the scenarios disabled with the reason, and every tab
gets the signed ticket its node socket carries (issue 12's contract "Roles")."""

import json
import re

import pytest
from django.core import signing
from django.test import Client

from archviz.overload.pages import TICKET_SALT

pytestmark = pytest.mark.django_db


def _config(html: str) -> dict:
    found = re.search(r'<script id="lab-config" type="application/json">(.*?)</script>', html, re.S)
    assert found, "no page config"
    return json.loads(found.group(1))


def test_an_anonymous_learner_sees_the_scenarios_disabled_and_why(client: Client) -> None:
    html = client.get("/overload/").content.decode()
    assert re.search(r'<fieldset class="ov-scenarios" disabled title="only instructors', html)
    assert "Only instructors (permission" in html
    config = _config(html)
    assert config["ticket"] is None and config["hold_path"] == "/ws/hold/"
    assert config["reconnect_policies"] == ["immediate", "fixed", "exponential", "full_jitter"]


def test_a_signed_in_learner_gets_a_learner_ticket(client: Client, django_user_model) -> None:
    client.force_login(django_user_model.objects.create_user("ada", password="pw-learner-1"))
    ticket = _config(client.get("/overload/").content.decode())["ticket"]
    assert signing.loads(ticket, salt=TICKET_SALT) == {"role": "learner", "user": "ada"}
    with pytest.raises(signing.BadSignature):
        signing.loads(ticket, salt="another.salt")


def test_an_instructor_gets_the_controls_and_an_instructor_ticket(
    client: Client, instructor_user
) -> None:
    client.force_login(instructor_user)
    html = client.get("/overload/").content.decode()
    assert '<fieldset class="ov-scenarios">' in html
    ticket = _config(html)["ticket"]
    assert signing.loads(ticket, salt=TICKET_SALT)["role"] == "instructor"
