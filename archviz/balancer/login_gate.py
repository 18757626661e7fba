"""ARCHVIZ_REQUIRE_LOGIN at the balancer: what sits behind it is for logged-in users too.

A browser sends a host's cookies to every port of that host, so the dashboard's own session
cookie reaches the balancer with each request a page makes through it (the sessions demo's
cart, the chat's sockets). The balancer asks Django's session framework whether that session
belongs to an active user, just as the dashboard would, and remembers the verdict for a few
seconds, so a page's requests do not each cost a database read. The lab's own clients (the
traffic generator, the bots) prove themselves with LAB_CLIENT_HEADER instead.
"""

import asyncio
import time
from collections.abc import Callable

from django.conf import settings
from django.http.cookie import parse_cookie
from django.shortcuts import resolve_url

from archviz.balancer.headers import ClientRequest
from archviz.core.http import LAB_CLIENT_HEADER, is_lab_client
from archviz.core.logins import is_logged_in

VERDICT_TTL_S = 5.0  # a log-out reaches the balancer within this
MAX_VERDICTS = 10_000  # sessions remembered at once; past that the oldest verdicts go


class LoginGate:
    def __init__(
        self,
        check: Callable[[str], bool] = is_logged_in,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.check = check
        self.clock = clock
        self.refused_total = 0
        self._verdicts: dict[str, tuple[bool, float]] = {}  # session key -> (verdict, at)

    @staticmethod
    def required() -> bool:
        return settings.ARCHVIZ_REQUIRE_LOGIN

    async def refusal(self, request: ClientRequest) -> str | None:
        """Why this request may not pass (counted), or None: it may."""
        if is_lab_client(request.headers.get(LAB_CLIENT_HEADER)):
            return None
        session_key = parse_cookie(request.headers.get("Cookie", "")).get(
            settings.SESSION_COOKIE_NAME
        )
        if session_key and await self._logged_in(session_key):
            return None
        self.refused_total += 1
        return f"login required: log in at the dashboard's {resolve_url(settings.LOGIN_URL)} first"

    async def _logged_in(self, session_key: str) -> bool:
        now = self.clock()
        known = self._verdicts.get(session_key)
        if known is not None and now - known[1] < VERDICT_TTL_S:
            return known[0]
        verdict = await asyncio.to_thread(self.check, session_key)
        if len(self._verdicts) >= MAX_VERDICTS:
            self._verdicts.pop(next(iter(self._verdicts)))  # the oldest entry
        self._verdicts.pop(session_key, None)
        self._verdicts[session_key] = (verdict, now)
        return verdict
