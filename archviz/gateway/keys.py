"""The Redis keys of the API gateway demo (the lab's own are in archviz/core/keys.py)."""

PREFIX = "archviz:gateway:"

# tokens and signing keys
SIGNING_PRIVATE = PREFIX + "signing:private"  # hash kid -> PKCS#8 PEM, the auth service's only
SIGNING_CURRENT = PREFIX + "signing:current"  # the kid new tokens are signed with
PUBLIC_KEYS = PREFIX + "signing:public"  # hash kid -> JSON {"jwk", "created", "retire_at"}
REVOKED = PREFIX + "revoked"  # sorted set: revoked jti, scored by its token's exp
EXPIRED_BEFORE = PREFIX + "expired-before"  # every token issued before this (unix s) is expired
KEYS_CHANGED = PREFIX + "keys-changed"  # pub/sub: keys or revocations changed, refresh now


def rate_bucket(rate_class: str, consumer: str) -> str:
    """A consumer's token bucket (core.ratelimit) for one class of routes, shared by every
    gateway replica: consumer is "user:<sub>" or "address:<ip>"."""
    return f"{PREFIX}limit:{rate_class}:{consumer}"


# hash policy name -> JSON {"rate", "burst"}: an instructor's live override of limits.POLICIES
LIMIT_POLICIES = PREFIX + "limit-policies"


# auctions and bids (archviz/gateway/auction.py). Auction ids are checked before they get
# here (gateway/bids.py: lowercase letters, digits and '-'), so no id can reach another's
# keys. An auction's sequence number never goes back, not even when it is reset: a watcher
# that reconnects asks for the updates after the last one it saw.
AUCTIONS = PREFIX + "auctions"  # a set: the id of every auction


def auction(auction_id: str) -> str:
    """One auction's state (a hash: title, start_cents, ends_at_ms, highest_cents, bidder,
    seq, closed)."""
    return f"{PREFIX}auction:{auction_id}:state"


def auction_updates(auction_id: str) -> str:
    """A stream of the auction's updates, capped, with the update's seq as its entry id
    ("<seq>-0"), so that "every update since seq N" is one XRANGE."""
    return f"{PREFIX}auction:{auction_id}:updates"


def auction_channel(auction_id: str) -> str:
    """Pub/sub: each update of the auction as JSON, as the stream keeps it."""
    return f"{PREFIX}auction:{auction_id}"


AUCTION_CHANNELS = PREFIX + "auction:*"  # PSUBSCRIBE: every auction's updates


def bid_request(auction_id: str, request_id: str) -> str:
    """The result of an accepted bid by its request id, for a while: a retry is answered with
    it instead of bidding again."""
    return f"{PREFIX}auction:{auction_id}:request:{request_id}"


# the bidding bots (`manage.py auctionbots`, gateway/bidbots.py)
BOTS = PREFIX + "bots"  # how many bots an instructor asked for (an integer), kept across restarts
BOTS_VIEW = PREFIX + "bots:view"  # JSON: what the bots are doing, refreshed by each heartbeat
