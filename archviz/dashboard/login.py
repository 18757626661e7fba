"""The log-in page, throttled: after a few failed attempts for one username or from one
address, further attempts are refused for a while without the password being checked.

The counts live in the lab's Redis, so that every dashboard process of a class shares them.
An address is stopped before it can lock an account alone: locking one takes failures from
at least two addresses. If Redis cannot be reached, log-ins are not throttled (and the lab
says so in its log), since the lab cannot run without Redis anyway.
"""

import contextlib
import logging
import math
from collections.abc import Iterator

import redis
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse

from archviz.core.redis_conn import shared_client
from archviz.dashboard import keys as dashboard_keys

log = logging.getLogger(__name__)
WINDOW_S = 15 * 60  # failures are counted for this long from the first one
MAX_FAILURES = {"ip": 5, "user": 10}  # within the window; then refused until it ends


class LoginThrottle:
    """Failed log-ins per username and per address, each counted for WINDOW_S."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    def refused_for(self, username: str, address: str) -> int:
        """Seconds until attempts for this username from this address are allowed again;
        0 when they are allowed now."""
        keys = self._keys(username, address)
        pipe = self.client.pipeline(transaction=False)
        for _, key in keys:
            pipe.get(key)
            pipe.ttl(key)
        replies = iter(pipe.execute())
        wait = 0
        for scope, _ in keys:
            count, ttl = next(replies), next(replies)
            if int(count or 0) >= MAX_FAILURES[scope]:
                wait = max(wait, ttl, 1)
        return wait

    def failed(self, username: str, address: str) -> None:
        pipe = self.client.pipeline(transaction=False)
        for _, key in self._keys(username, address):
            pipe.set(key, 0, ex=WINDOW_S, nx=True)  # the window starts at the first failure
            pipe.incr(key)
        pipe.execute()

    def succeeded(self, username: str) -> None:
        """A right password clears its username's count (not the address's)."""
        self.client.delete(dashboard_keys.login_failures("user", _username(username)))

    @staticmethod
    def _keys(username: str, address: str) -> list[tuple[str, str]]:
        return [
            ("user", dashboard_keys.login_failures("user", _username(username))),
            ("ip", dashboard_keys.login_failures("ip", address or "unknown")),
        ]


def _username(username: str) -> str:
    return username.strip().lower()[:150]  # 150: the longest username Django allows


class ThrottledLoginView(LoginView):
    """Django's LoginView, refusing (429) while the throttle holds the username or address."""

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            wait = _throttle().refused_for(self._username(), self._address())
        except redis.RedisError as exc:
            log.warning("login throttle: Redis unreachable, not throttling: %s", exc)
            wait = 0
        if wait:
            minutes = math.ceil(wait / 60)
            refusal = (
                "Too many failed log-in attempts for this account or from this address: "
                f"try again in {minutes} minute{'s' if minutes != 1 else ''}."
            )
            context = self.get_context_data(form=self.form_class(request), throttled=refusal)
            return self.render_to_response(context, status=429)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form) -> HttpResponse:
        with _unless_redis_is_away():
            _throttle().succeeded(self._username())
        return super().form_valid(form)

    def form_invalid(self, form) -> HttpResponse:
        with _unless_redis_is_away():
            _throttle().failed(self._username(), self._address())
        return super().form_invalid(form)

    def _username(self) -> str:
        return self.request.POST.get("username", "")

    def _address(self) -> str:
        return self.request.META.get("REMOTE_ADDR", "")


def _throttle() -> LoginThrottle:
    return LoginThrottle(shared_client())


@contextlib.contextmanager
def _unless_redis_is_away() -> Iterator[None]:
    try:
        yield
    except redis.RedisError as exc:
        log.warning("login throttle: Redis unreachable, not counting: %s", exc)
