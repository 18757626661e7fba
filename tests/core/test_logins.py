"""A dashboard session read from outside the dashboard, with Django's session framework."""

import pytest

from archviz.core.logins import is_logged_in, session_user


@pytest.mark.django_db
def test_is_logged_in_follows_djangos_own_session(client, django_user_model) -> None:
    """A real login counts; an unknown key, a log-out, a deactivated user or a changed
    password do not."""
    user = django_user_model.objects.create_user("ann", password="ann-pass-123")
    assert not is_logged_in("no-such-session")
    client.force_login(user)
    key = client.session.session_key
    assert is_logged_in(key) and session_user(key) == user
    user.set_password("a-new-pass-456")
    user.save()
    assert not is_logged_in(key)
    client.force_login(user)
    key = client.session.session_key
    user.is_active = False
    user.save()
    assert not is_logged_in(key)
    user.is_active = True
    user.save()
    client.logout()
    assert not is_logged_in(key)
