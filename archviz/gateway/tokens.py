"""Signed tokens: the auth service issues a short-lived JWT for a name and a role; every
gateway replica verifies it with the public keys alone.

EdDSA over Ed25519 (RFC 8037), the one algorithm accepted: `algorithms` is always the
fixed list [EdDSA] and a key is bound to it (RFC 8725 §2.1), `alg: none` is refused by name,
and the header's `kid` must name a key of the set. The header's `typ` is `at+jwt` (RFC 9068),
so no other kind of JWT signed by the same key passes for an access token.

Pure: the caller passes the time. PyJWT reads the wall clock itself, so its exp/iat/nbf
checks are off and done here against `now`, with a small leeway; it checks the signature,
the audience, the issuer and that every claim is present.
"""

import base64
import hashlib
import json
import math
import re
import secrets
from collections.abc import Mapping
from typing import Literal, NamedTuple, TypedDict, cast

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.exceptions import InvalidJTIError, InvalidSubjectError

from archviz.gateway.routes import ROLE_SCOPES

ALGORITHM = "EdDSA"
TOKEN_TYPE = "at+jwt"
AUDIENCE = "archviz-gateway"
ISSUER = "archviz-auth"
DEFAULT_TTL_S = 300
MIN_TTL_S = 5  # short enough to watch a token expire
MAX_TTL_S = 900  # also how long a rotated-out key stays published (signing_keys.GRACE_S)
LEEWAY_S = 1.0  # clock skew between the lab's machines
MAX_TOKEN_CHARS = 4_096
REQUIRED_CLAIMS = ("sub", "role", "scope", "aud", "iss", "iat", "exp", "jti")

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _.-]{0,39}")
KID = re.compile(r"[A-Za-z0-9_-]{1,64}")
JTI = re.compile(r"[A-Za-z0-9_-]{16,64}")

ErrorCode = Literal[
    "missing",  # no token at all (or another scheme than Bearer)
    "malformed",  # not a JWT, a bad header, a claim missing or of the wrong type
    "alg_none",  # unsigned: `alg: none`
    "bad_signature",  # the signature does not verify, or it is another algorithm's
    "unknown_key",  # its kid is not in the key set (rotated out, or never ours)
    "expired",  # past its exp, or issued before an instructor expired every token
    "wrong_audience",  # not for archviz-gateway
    "revoked",  # its jti was revoked
    "not_yet_valid",  # issued (iat) or valid (nbf) in the future
]
ERRORS: tuple[ErrorCode, ...] = ErrorCode.__args__  # type: ignore[attr-defined]


class TokenError(Exception):
    """Why a token is refused: `error` from ERRORS (the 401's body), and words for people."""

    def __init__(self, error: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.error = error
        self.message = message


class Claims(TypedDict):
    sub: str  # the name
    role: str
    scope: str  # space-separated (RFC 8693 §4.2)
    aud: str
    iss: str
    iat: float  # unix seconds, to the millisecond (RFC 7519 allows non-integer dates)
    exp: float
    jti: str


# --- keys --------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def thumbprint(jwk: Mapping[str, str]) -> str:
    """The RFC 7638 thumbprint of an OKP key (SHA-256 of its required members, in order):
    the key's id, so the same key always has the same kid."""
    members = {"crv": jwk["crv"], "kty": jwk["kty"], "x": jwk["x"]}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True)
    return _b64(hashlib.sha256(canonical.encode()).digest())


class SigningKey(NamedTuple):
    """A private key and its id: only the auth service holds one."""

    kid: str
    private_key: Ed25519PrivateKey

    @classmethod
    def generate(cls) -> "SigningKey":
        private = Ed25519PrivateKey.generate()
        return cls(thumbprint(_public_members(private)), private)

    @classmethod
    def from_pem(cls, pem: bytes) -> "SigningKey":
        private = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(private, Ed25519PrivateKey):
            raise ValueError("not an Ed25519 private key")
        return cls(thumbprint(_public_members(private)), private)

    def pem(self) -> bytes:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def public_jwk(self) -> dict[str, str]:
        """The public half as a JWK (RFC 7517, RFC 8037): what the JWKS publishes."""
        return {**_public_members(self.private_key), "kid": self.kid, "use": "sig",
                "alg": ALGORITHM}  # fmt: skip


def _public_members(private: Ed25519PrivateKey) -> dict[str, str]:
    raw = private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return {"kty": "OKP", "crv": "Ed25519", "x": _b64(raw)}


def public_key(jwk: object) -> jwt.PyJWK:
    """One JWK of a key set, checked strictly (the set is read from Redis, the lab's trust
    boundary): an Ed25519 signing key with a kid, and no private part. ValueError if not."""
    if not isinstance(jwk, dict):
        raise ValueError("a key is not a JSON object")
    if (jwk.get("kty"), jwk.get("crv")) != ("OKP", "Ed25519"):
        raise ValueError("a key is not an Ed25519 (OKP) key")
    if not isinstance(jwk.get("kid"), str) or not KID.fullmatch(jwk["kid"]):
        raise ValueError("a key has no usable kid")
    if jwk.get("use", "sig") != "sig" or jwk.get("alg", ALGORITHM) != ALGORITHM:
        raise ValueError(f"key {jwk['kid']} is not an {ALGORITHM} signing key")
    if "d" in jwk:
        raise ValueError(f"key {jwk['kid']} has its private part: refused")
    try:
        return jwt.PyJWK(jwk, algorithm=ALGORITHM)
    except jwt.PyJWTError as error:
        raise ValueError(f"key {jwk['kid']} is unusable: {error}") from None


class KeySet:
    """The public keys a gateway accepts, by kid; a key that is being rotated out is
    accepted until its retire time (unix seconds), then it is as unknown as any."""

    def __init__(self, keys: Mapping[str, tuple[jwt.PyJWK, float | None]]) -> None:
        self._keys = dict(keys)

    @classmethod
    def from_jwks(cls, jwks: object, retire_at: Mapping[str, float] | None = None) -> "KeySet":
        """A key set from an RFC 7517 JWK Set `{"keys": [...]}`; ValueError if any key of it
        is not usable (a set is taken whole or not at all)."""
        if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
            raise ValueError('a key set is a JSON object with a "keys" list')
        until = retire_at or {}
        keys = {}
        for jwk in jwks["keys"]:
            key = public_key(jwk)
            keys[key.key_id] = (key, until.get(key.key_id))
        return cls(keys)

    @property
    def kids(self) -> frozenset[str]:
        return frozenset(self._keys)

    def find(self, kid: str, now: float) -> jwt.PyJWK | None:
        """The key with this kid, if it is still accepted at `now`."""
        key, retire_at = self._keys.get(kid, (None, None))
        if key is None or (retire_at is not None and now >= retire_at):
            return None
        return key


class Revocations(NamedTuple):
    """What the instructors took back: revoked token ids, and the time before which every
    token issued is expired (None: never used)."""

    jtis: frozenset[str] = frozenset()
    issued_before: float | None = None

    def refusal(self, claims: Claims) -> TokenError | None:
        """Why these claims are refused although signed and in date, or None (pure)."""
        if claims["jti"] in self.jtis:
            return TokenError("revoked", f"the token {claims['jti'][:8]}… was revoked")
        if self.issued_before is not None and claims["iat"] < self.issued_before:
            return TokenError("expired", "an instructor expired every token issued before it")
        return None


# --- issue and verify ---------------------------------------------------------------------


def issue(
    name: str,
    role: str,
    key: SigningKey,
    now: float,
    ttl_s: float = DEFAULT_TTL_S,
    *,
    jti: str | None = None,
) -> str:
    """A signed token for `name` with `role`'s scopes, valid from `now` for `ttl_s`."""
    if not NAME.fullmatch(name):
        raise ValueError(f"a name is 1-40 letters, digits, space, _ . or -: {name[:50]!r}")
    if role not in ROLE_SCOPES:
        raise ValueError(f"unknown role {role[:20]!r}; use one of {tuple(ROLE_SCOPES)}")
    if not MIN_TTL_S <= ttl_s <= MAX_TTL_S:
        raise ValueError(f"a token lives from {MIN_TTL_S} to {MAX_TTL_S} s")
    iat = round(now, 3)
    claims = {"sub": name, "role": role, "scope": " ".join(ROLE_SCOPES[role]), "aud": AUDIENCE,
              "iss": ISSUER, "iat": iat, "exp": round(iat + ttl_s, 3),
              "jti": jti or secrets.token_urlsafe(16)}  # fmt: skip
    headers = {"kid": key.kid, "typ": TOKEN_TYPE}
    return jwt.encode(claims, key.private_key, algorithm=ALGORITHM, headers=headers)


NO_REVOCATIONS = Revocations()


def verify(
    token: str | None,
    keys: KeySet,
    *,
    now: float,
    audience: str = AUDIENCE,
    revocations: Revocations = NO_REVOCATIONS,
    leeway_s: float = LEEWAY_S,
) -> Claims:
    """The claims of a token that is signed by a key of the set, for this audience, in date
    and not revoked; TokenError says which of these it is not."""
    if not token:
        raise TokenError("missing", "no token")
    key = _key_for(token, keys, now)
    claims = _checked_claims(_decode(token, key, audience))
    check_dates(claims, now, leeway_s)
    if refused := revocations.refusal(claims):
        raise refused
    return claims


def _key_for(token: str, keys: KeySet, now: float) -> jwt.PyJWK:
    """The key the token's header names, before anything is verified with it."""
    if len(token) > MAX_TOKEN_CHARS:
        raise TokenError("malformed", f"the token is over {MAX_TOKEN_CHARS} characters")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as error:
        raise TokenError("malformed", f"not a JWT: {error}") from None
    alg = header.get("alg")
    if alg is None:
        raise TokenError("malformed", "the token's header names no algorithm (alg)")
    if isinstance(alg, str) and alg.lower() == "none":
        raise TokenError("alg_none", "the token is unsigned (alg: none): refused")
    if alg != ALGORITHM:
        raise TokenError("bad_signature", f"signed with {str(alg)[:20]!r}: only EdDSA is taken")
    if header.get("typ") != TOKEN_TYPE:
        raise TokenError("malformed", f"the token's typ is not {TOKEN_TYPE}")
    kid = header.get("kid")
    if not isinstance(kid, str):
        raise TokenError("malformed", "the token's header names no key (kid)")
    key = keys.find(kid, now)
    if key is None:
        raise TokenError("unknown_key", f"the key {kid[:16]!r} is not (or no longer) ours")
    return key


def _decode(token: str, key: jwt.PyJWK, audience: str) -> dict[str, object]:
    options = {"require": list(REQUIRED_CLAIMS), "strict_aud": True,
               # checked by check_dates against the caller's clock instead
               "verify_exp": False, "verify_iat": False, "verify_nbf": False}  # fmt: skip
    try:
        return jwt.decode(token, key, algorithms=[ALGORITHM], audience=audience,
                          issuer=ISSUER, options=options)  # fmt: skip
    except jwt.InvalidSignatureError:
        raise TokenError("bad_signature", "the signature does not verify") from None
    except jwt.MissingRequiredClaimError as error:
        raise TokenError("malformed", f"the token has no {error.claim!r} claim") from None
    except jwt.InvalidAudienceError:
        raise TokenError("wrong_audience", f"the token is not for {audience}") from None
    except InvalidSubjectError:
        raise TokenError("malformed", "the token's sub is not a name") from None
    except InvalidJTIError:
        raise TokenError("malformed", "the token's jti is not a token id") from None
    except jwt.InvalidIssuerError:
        raise TokenError("malformed", f"the token was not issued by {ISSUER}") from None
    except jwt.PyJWTError as error:
        raise TokenError("malformed", f"the token cannot be read: {error}") from None


def is_number(value: object) -> bool:
    """A finite int or float, not a bool (JSON's true is no date)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _checked_claims(payload: dict[str, object]) -> Claims:
    """The payload as Claims, every claim of the right type and bounds."""
    sub, role, scope, jti = (payload[n] for n in ("sub", "role", "scope", "jti"))
    if not isinstance(sub, str) or not NAME.fullmatch(sub):
        raise TokenError("malformed", "the token's sub is not a name")
    if not isinstance(role, str) or role not in ROLE_SCOPES:
        raise TokenError("malformed", "the token's role is not one of ours")
    if not isinstance(scope, str):
        raise TokenError("malformed", "the token's scope is not a string")
    if not isinstance(jti, str) or not JTI.fullmatch(jti):
        raise TokenError("malformed", "the token's jti is not a token id")
    iat, exp = payload["iat"], payload["exp"]
    if not is_number(iat) or not is_number(exp) or not 0 < exp - iat <= MAX_TTL_S:  # type: ignore[operator]
        raise TokenError("malformed", f"iat and exp are not dates at most {MAX_TTL_S} s apart")
    if "nbf" in payload and not is_number(payload["nbf"]):
        raise TokenError("malformed", "the token's nbf is not a date")
    return cast(Claims, payload)


def check_dates(claims: Claims, now: float, leeway_s: float) -> None:
    """Raise TokenError when the claims are not in date at `now` (pure)."""
    starts = max(claims["iat"], cast(float, claims.get("nbf", claims["iat"])))
    if now + leeway_s < starts:
        raise TokenError("not_yet_valid", f"the token is valid only in {starts - now:.0f} s")
    if now - leeway_s >= claims["exp"]:
        raise TokenError("expired", f"the token expired {now - claims['exp']:.0f} s ago")


def granted_scopes(claims: Claims) -> frozenset[str]:
    """The scopes the token grants (its `scope` claim, space-separated)."""
    return frozenset(claims["scope"].split())
