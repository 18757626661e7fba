"""Tokens a replica has already verified, kept by their text for their remaining life, so
that a client's next request skips the signature check and the decoding (profiled: about a
third of a replica's CPU per request went to them).

Only what the signature proved is cached. Everything that can change is checked again on
each use, as tokens.verify checks it: the key named is still accepted (a retired key refuses
its tokens at once), the dates (an expired token is refused and dropped), and the
revocations (re-read with the key ring about every half second, so a revoked token is
refused within a second). An entry belongs to one key set: when the ring is re-read with a
change, every token is verified afresh. Pure: the caller passes the time and the ring.
"""

import jwt

from archviz.gateway.tokens import (
    LEEWAY_S,
    NO_REVOCATIONS,
    Claims,
    KeySet,
    Revocations,
    TokenError,
    check_dates,
    verify,
)

MAX_ENTRIES = 4_096  # a class's worth of learners many times over


class _Entry:
    __slots__ = ("claims", "keys", "kid")

    def __init__(self, keys: KeySet, kid: str, claims: Claims) -> None:
        self.keys = keys
        self.kid = kid
        self.claims = claims


class VerifiedTokens:
    """tokens.verify with a bounded cache of the tokens it accepted (the oldest one goes
    first when full)."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._entries: dict[str, _Entry] = {}
        self.hits = 0

    def __len__(self) -> int:
        return len(self._entries)

    def verify(
        self,
        token: str | None,
        keys: KeySet,
        *,
        now: float,
        revocations: Revocations = NO_REVOCATIONS,
        leeway_s: float = LEEWAY_S,
    ) -> Claims:
        """What tokens.verify answers for this token, keys, time and revocations."""
        entry = self._entries.get(token) if token else None
        if entry is None or entry.keys is not keys:
            claims = verify(token, keys, now=now, revocations=revocations, leeway_s=leeway_s)
            self._remember(token or "", keys, claims)
            return claims
        try:
            _recheck(entry, now, revocations, leeway_s)
        except TokenError:
            del self._entries[token]  # type: ignore[arg-type]
            raise
        self.hits += 1
        return entry.claims

    def _remember(self, token: str, keys: KeySet, claims: Claims) -> None:
        if len(self._entries) >= self.max_entries:
            del self._entries[next(iter(self._entries))]
        kid = str(jwt.get_unverified_header(token)["kid"])  # verify checked it is there
        self._entries[token] = _Entry(keys, kid, claims)


def _recheck(entry: _Entry, now: float, revocations: Revocations, leeway_s: float) -> None:
    """What may have changed since the token was verified, in tokens.verify's order."""
    if entry.keys.find(entry.kid, now) is None:
        raise TokenError("unknown_key", f"the key {entry.kid[:16]!r} is not (or no longer) ours")
    check_dates(entry.claims, now, leeway_s)
    if refused := revocations.refusal(entry.claims):
        raise refused
