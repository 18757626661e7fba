"""The bidding bots: real clients of the API gateway, as a learner's tab would be one.

Each bot asks the auth service for a bidder's token (POST /auth/token through the gateway),
picks an open auction from the catalog, watches it over the gateway's WebSocket
(/ws/auctions/<id>/, the token offered as the subprotocol after `bearer`) and now and then
bids a little above the current highest (POST /auctions/<id>/bids, `Authorization: Bearer`).
It renews its token before it expires, on a new socket; after an error it waits with
jittered backoff (a Retry-After at least). Every request carries the lab client header, so
the lab knows its own clients. The decisions are in bidbots.py.
"""

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from archviz.core.close_codes import LOGIN_REQUIRED
from archviz.core.http import LAB_CLIENT_HEADER, lab_client_token
from archviz.gateway.bearer import SUBPROTOCOL
from archviz.gateway.bidbots import (
    BID_EVERY_S,
    Backoff,
    Token,
    Watched,
    amount_text,
    budget_cents,
    next_bid_cents,
    parse_update,
    pick_auction,
    retry_after,
    token_from,
)
from archviz.trace.events import now_ms

REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=5)
HANDSHAKE_TIMEOUT_S = 5.0
MIN_WAIT_S = 0.01
TOKEN_CLOSE_CODES = frozenset({LOGIN_REQUIRED, 1008})  # the socket's token was refused
EXPECTED = (aiohttp.ClientError, OSError, TimeoutError, ValueError)  # and Trouble (a ValueError)
log = logging.getLogger(__name__)


class Trouble(ValueError):
    """Something a bot waits out before trying again: `retry_after_s` when the server said
    how long; `token_refused` when its token is no good any more (revoked, expired)."""

    def __init__(
        self, message: str, retry_after_s: float | None = None, *, token_refused: bool = False
    ) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
        self.token_refused = token_refused


@dataclass
class FleetStats:
    """What the bots of a fleet did, together (read by the heartbeat thread)."""

    tokens: int = 0
    bids: int = 0
    accepted: int = 0
    refused: dict[str, int] = field(default_factory=dict)  # HTTP status -> bids refused
    errors: int = 0

    def refuse(self, status: int) -> None:
        self.refused[str(status)] = self.refused.get(str(status), 0) + 1


async def _json_or_none(response: aiohttp.ClientResponse) -> Any:
    with contextlib.suppress(aiohttp.ContentTypeError, ValueError):
        return await response.json(content_type=None)
    return None


def _message(body: Any) -> str:
    return str(body.get("message") or body.get("error"))[:120] if isinstance(body, dict) else ""


class BidBot:
    """One bot; `run(session)` until cancelled."""

    def __init__(
        self,
        name: str,
        base_url: Callable[[], str],
        stats: FleetStats,
        *,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.base_url = base_url
        self.stats = stats
        self.rng = rng or random.Random()
        self.clock = clock
        self.headers = {LAB_CLIENT_HEADER: lab_client_token()}
        self.token: Token | None = None
        self.watched: Watched | None = None
        self.budget = 0
        self.connected = False
        self.last_error = ""
        self._bid_backoff = Backoff(self.rng)

    def url(self, path: str, *, websocket: bool = False) -> str:
        base = self.base_url().rstrip("/")
        return ("ws" + base.removeprefix("http") if websocket else base) + path

    async def run(self, session: aiohttp.ClientSession) -> None:
        backoff = Backoff(self.rng)
        while True:
            try:
                await self.watch_once(session)
                backoff.reset()
            except Exception as exc:  # a bot never dies of an error: it waits and tries again
                if not isinstance(exc, EXPECTED):
                    log.exception("%s: unexpected error (will retry)", self.name)
                self.connected = False
                self.stats.errors += 1
                self.last_error = str(exc)[:200] or type(exc).__name__
                if getattr(exc, "token_refused", False) or getattr(exc, "status", 0) == 401:
                    self.token = None
                await asyncio.sleep(backoff.next_delay(getattr(exc, "retry_after_s", None)))

    async def watch_once(self, session: aiohttp.ClientSession) -> None:
        """One socket's life: until the token is due for renewal or the auction closes."""
        token = await self.fresh_token(session)
        if self.watched is None or not self.watched.open(now_ms()):
            self.watched = await self._pick(session, token)
            self.budget = budget_cents(self.watched.start_cents, self.rng)
        path = f"/ws/auctions/{self.watched.auction_id}/"
        offered = (SUBPROTOCOL, token.value)  # bearer.py: the server echoes "bearer"
        connecting = session.ws_connect(
            self.url(path, websocket=True), headers=self.headers, protocols=offered, heartbeat=20
        )
        ws = await asyncio.wait_for(connecting, HANDSHAKE_TIMEOUT_S)
        async with ws:
            self.connected = True
            await self._read_state(session, token)  # what happened while it was not watching
            await self._follow(session, ws, token)
        self.connected = False

    async def fresh_token(self, session: aiohttp.ClientSession) -> Token:
        """Its token, a new one from the auth service when none or the old one is due."""
        if self.token is not None and not self.token.due(self.clock()):
            return self.token
        issued_at = self.clock()
        body = {"name": self.name, "role": "bidder"}
        async with session.post(self.url("/auth/token"), json=body, headers=self.headers,
                                timeout=REQUEST_TIMEOUT) as response:  # fmt: skip
            answer = await _json_or_none(response)
            if response.status != 200:
                wait = retry_after(response.headers.get("Retry-After"))
                raise Trouble(f"no token: {response.status} {_message(answer)}", wait)
        self.token = token_from(answer, issued_at, self.rng)
        self.stats.tokens += 1
        return self.token

    def _authorised(self, token: Token) -> dict[str, str]:
        return self.headers | {"Authorization": f"Bearer {token.value}"}

    async def _pick(self, session: aiohttp.ClientSession, token: Token) -> Watched:
        async with session.get(self.url("/catalog/auctions"), headers=self._authorised(token),
                               timeout=REQUEST_TIMEOUT) as response:  # fmt: skip
            listed = await _json_or_none(response)
            if response.status != 200:
                raise Trouble(f"no catalog: {response.status} {_message(listed)}",
                              retry_after(response.headers.get("Retry-After")),
                              token_refused=response.status == 401)  # fmt: skip
        picked = pick_auction(listed, now_ms(), self.rng)
        if picked is None:
            raise Trouble("no open auction to bid in")
        return picked

    async def _read_state(self, session: aiohttp.ClientSession, token: Token) -> None:
        """Best effort: the socket's updates bring it too."""
        assert self.watched is not None
        path = f"/catalog/auctions/{self.watched.auction_id}"
        with contextlib.suppress(aiohttp.ClientError, TimeoutError):
            async with session.get(self.url(path), headers=self._authorised(token),
                                   timeout=REQUEST_TIMEOUT) as response:  # fmt: skip
                found = parse_update(await _json_or_none(response) or {})
                if response.status == 200 and found:
                    self.watched.apply(found)

    async def _follow(
        self, session: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse, token: Token
    ) -> None:
        assert self.watched is not None
        next_bid = self.clock() + self.rng.uniform(*BID_EVERY_S)
        while not token.due(self.clock()):
            if not self.watched.open(now_ms()):
                return  # the next round picks another auction
            wait = max(MIN_WAIT_S, min(next_bid, token.renew_at) - self.clock())
            with contextlib.suppress(TimeoutError):
                self._read(ws, await ws.receive(timeout=wait))
            if self.clock() >= next_bid:
                pause = await self.bid(session, token)
                next_bid = self.clock() + (pause or self.rng.uniform(*BID_EVERY_S))

    def _read(self, ws: aiohttp.ClientWebSocketResponse, message: aiohttp.WSMessage) -> None:
        assert self.watched is not None
        if message.type is aiohttp.WSMsgType.TEXT:
            if update := parse_update(message.data):
                self.watched.apply(update)
        elif message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING,
                              aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):  # fmt: skip
            code = ws.close_code
            raise Trouble(f"the socket closed ({code})", token_refused=code in TOKEN_CLOSE_CODES)

    async def bid(self, session: aiohttp.ClientSession, token: Token) -> float | None:
        """Bid a little above the highest unless it is its own or past its budget; how long
        to wait before the next (None: the usual)."""
        watched = self.watched
        if watched is None or watched.bidder == self.name:
            return None
        amount = next_bid_cents(watched.highest_cents, watched.start_cents, self.budget, self.rng)
        if amount is None:
            return None
        self.stats.bids += 1
        path = f"/auctions/{watched.auction_id}/bids"
        async with session.post(self.url(path), json={"amount": amount_text(amount)},
                                headers=self._authorised(token),
                                timeout=REQUEST_TIMEOUT) as response:  # fmt: skip
            answer = await _json_or_none(response)
        return self._answered(watched, amount, response, answer)

    def _answered(
        self, watched: Watched, amount: int, response: aiohttp.ClientResponse, answer: Any
    ) -> float | None:
        if response.status in (200, 201):
            self.stats.accepted += 1
            self._bid_backoff.reset()
            watched.apply({"highest_cents": amount, "bidder": self.name})
            watched.apply(parse_update(answer or {}) or {})
            return None
        self.stats.refuse(response.status)
        if response.status == 401:
            raise Trouble(f"bid refused: {_message(answer)}", token_refused=True)
        if response.status == 409:  # outbid, or closed: the answer or the socket says
            watched.apply(parse_update(answer or {}) or {})
            return None
        waited = retry_after(response.headers.get("Retry-After"))
        return self._bid_backoff.next_delay(waited)


class BidderFleet:
    """Keeps `count` bots running, named bidbot-1, bidbot-2, ... (the lowest stay)."""

    def __init__(self, base_url: Callable[[], str], *, rng: random.Random | None = None) -> None:
        self.base_url = base_url
        self.rng = rng or random.Random()
        self.stats = FleetStats()
        self.bots: list[tuple[BidBot, asyncio.Task]] = []
        self._session: aiohttp.ClientSession | None = None

    def resize(self, count: int) -> None:
        """Start or stop bots (on the event loop) until `count` run."""
        if count and self._session is None:
            self._session = aiohttp.ClientSession()
        while len(self.bots) < count:
            bot = BidBot(f"bidbot-{len(self.bots) + 1}", self.base_url, self.stats,
                         rng=random.Random(self.rng.random()))  # fmt: skip
            assert self._session is not None
            self.bots.append((bot, asyncio.create_task(bot.run(self._session))))
        while len(self.bots) > count:
            _bot, task = self.bots.pop()
            task.cancel()

    def snapshot(self) -> dict[str, Any]:
        """What the bots are doing (called from the heartbeat thread: copies only)."""
        bots = [bot for bot, _task in list(self.bots)]
        watching: dict[str, int] = {}
        for bot in bots:
            watched = bot.watched  # the bot's own task may replace it meanwhile
            if bot.connected and watched is not None:
                watching[watched.auction_id] = watching.get(watched.auction_id, 0) + 1
        s = self.stats
        errors = sorted({bot.last_error for bot in bots if bot.last_error and not bot.connected})
        return {"bots": len(bots), "connected": sum(watching.values()), "watching": watching,
                "tokens": s.tokens, "bids": s.bids, "accepted": s.accepted,
                "refused": dict(s.refused), "errors": s.errors,
                "last_errors": errors[:3]}  # fmt: skip

    async def close(self) -> None:
        tasks = [task for _bot, task in self.bots]
        self.resize(0)
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None
