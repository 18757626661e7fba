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
