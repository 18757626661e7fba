"""Who a dashboard session belongs to, read from outside the dashboard: the dashboard's
session cookie reaches every port of its host, so the balancer and the gateway's services
can ask Django's session framework, just as the dashboard would (blocking: run them off the
event loop)."""

from importlib import import_module

from django.conf import settings
from django.contrib.auth import (
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    SESSION_KEY,
    get_user_model,
    load_backend,
)
from django.contrib.auth.base_user import AbstractBaseUser
from django.utils.crypto import constant_time_compare


def session_user(session_key: str) -> AbstractBaseUser | None:
    """The active user this session belongs to, if their password has not changed since."""
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    user_id, backend_path = store.get(SESSION_KEY), store.get(BACKEND_SESSION_KEY)
    if user_id is None or backend_path not in settings.AUTHENTICATION_BACKENDS:
        return None
    backend = load_backend(backend_path)
    user = backend.get_user(get_user_model()._meta.pk.to_python(user_id))
    if user is None:
        return None
    if not constant_time_compare(store.get(HASH_SESSION_KEY, ""), user.get_session_auth_hash()):
        return None
    return user


def is_logged_in(session_key: str) -> bool:
    return session_user(session_key) is not None
