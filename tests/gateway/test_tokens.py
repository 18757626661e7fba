"""Signed tokens: issuing, and every way verify() refuses one, each with its error code."""

import base64
import json

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from archviz.gateway import tokens
from archviz.gateway.routes import ROLE_SCOPES
from archviz.gateway.tokens import KeySet, Revocations, SigningKey, TokenError

NOW = 1_700_000_000.0
JTI = "jti-0123456789abcdef"


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture(scope="module")
def keys(key: SigningKey) -> KeySet:
    return KeySet.from_jwks({"keys": [key.public_jwk()]})


def _claims(**changes: object) -> dict[str, object]:
    claims = {"sub": "ada", "role": "bidder", "scope": "auctions:read bids:write",
              "aud": tokens.AUDIENCE, "iss": tokens.ISSUER, "iat": NOW, "exp": NOW + 300,
              "jti": JTI}  # fmt: skip
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _sign(key: SigningKey, claims: dict[str, object], **header: object) -> str:
    """A token signed by `key` with any claims and header: what a forger or a bug makes."""
    headers = {"kid": key.kid, "typ": "at+jwt", **header}
    return jwt.encode(claims, key.private_key, algorithm="EdDSA", headers=headers)


def _b64(data: dict | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _refused(token: str | None, keys: KeySet, now: float = NOW + 1, **kwargs) -> TokenError:
    with pytest.raises(TokenError) as refused:
        tokens.verify(token, keys, now=now, **kwargs)
    assert refused.value.error in tokens.ERRORS
    return refused.value


# --- keys --------------------------------------------------------------------------------

# RFC 8037 Appendix A: an Ed25519 key, its thumbprint, and a signature made with it.
RFC_D = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
RFC_X = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
RFC_THUMBPRINT = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
RFC_JWS = ("eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09"
           "PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg")  # fmt: skip


def _rfc_key() -> SigningKey:
    private = Ed25519PrivateKey.from_private_bytes(base64.urlsafe_b64decode(RFC_D + "="))
    return SigningKey(tokens.thumbprint({"kty": "OKP", "crv": "Ed25519", "x": RFC_X}), private)


def test_a_key_id_is_its_rfc_7638_thumbprint() -> None:
    """The RFC 8037 key's thumbprint is the RFC's; its JWK publishes only the public part."""
    key = _rfc_key()
    assert key.kid == RFC_THUMBPRINT
    assert key.public_jwk() == {"kty": "OKP", "crv": "Ed25519", "x": RFC_X,
                                "kid": RFC_THUMBPRINT, "use": "sig", "alg": "EdDSA"}  # fmt: skip


def test_a_published_key_verifies_the_rfc_8037_signature() -> None:
    """The JWK as the key set parses it checks RFC 8037's own example signature."""
    public = KeySet.from_jwks({"keys": [_rfc_key().public_jwk()]}).find(RFC_THUMBPRINT, NOW)
    assert jwt.PyJWS().decode(RFC_JWS, public) == b"Example of Ed25519 signing"


def test_a_signing_key_round_trips_through_pem_with_its_kid() -> None:
    """What the auth service stores (PKCS#8 PEM) loads back to the same key and kid."""
    key = SigningKey.generate()
    again = SigningKey.from_pem(key.pem())
    assert again.kid == key.kid and again.public_jwk() == key.public_jwk()
    assert key.pem().startswith(b"-----BEGIN PRIVATE KEY-----")


def test_a_pem_of_another_kind_of_key_is_refused() -> None:
    """Only Ed25519 private keys are signing keys."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )  # fmt: skip
    with pytest.raises(ValueError, match="not an Ed25519"):
        SigningKey.from_pem(pem)


def _jwk(**changes: object) -> dict[str, object]:
    jwk = {**_rfc_key().public_jwk(), **changes}
    return {k: v for k, v in jwk.items() if v is not None}


@pytest.mark.parametrize(
    ("jwks", "words"),
    [
        ([], "JSON object"),
        ({"keys": "x"}, "JSON object"),
        ({}, "JSON object"),
        ({"keys": ["x"]}, "not a JSON object"),
        ({"keys": [_jwk(kty="RSA")]}, "Ed25519"),
        ({"keys": [_jwk(crv="Ed448")]}, "Ed25519"),
        ({"keys": [_jwk(kid=None)]}, "kid"),
        ({"keys": [_jwk(kid="a b")]}, "kid"),
        ({"keys": [_jwk(kid=7)]}, "kid"),
        ({"keys": [_jwk(use="enc")]}, "signing key"),
        ({"keys": [_jwk(alg="ES256")]}, "signing key"),
        ({"keys": [_jwk(d=RFC_D)]}, "private part"),
        ({"keys": [_jwk(x="AAAA")]}, "unusable"),
        ({"keys": [_jwk(x=7)]}, "unusable"),
        ({"keys": [_jwk(), _jwk(kty="oct")]}, "Ed25519"),  # a set is taken whole or not at all
    ],
)
def test_a_key_set_is_parsed_strictly(jwks, words) -> None:
    """Whatever Redis holds is checked: anything but Ed25519 public signing keys is refused."""
    with pytest.raises(ValueError, match=words):
        KeySet.from_jwks(jwks)


def test_a_key_set_without_use_or_alg_is_taken_as_eddsa() -> None:
    """use and alg are optional in a JWK (RFC 7517 §4.2, §4.4): absent, they mean ours."""
    keys = KeySet.from_jwks({"keys": [_jwk(use=None, alg=None)], "extra": 1})
    assert keys.kids == {RFC_THUMBPRINT}
    assert keys.find("other", NOW) is None


# --- issue -------------------------------------------------------------------------------


def test_an_issued_token_verifies_to_its_claims(key, keys) -> None:
    """Every claim the contract names is there, with the role's scopes, valid for the ttl."""
    token = tokens.issue("Ada L.", "bidder", key, NOW, 60, jti=JTI)
    claims = tokens.verify(token, keys, now=NOW + 30)
    assert claims == {"sub": "Ada L.", "role": "bidder", "scope": " ".join(ROLE_SCOPES["bidder"]),
                      "aud": "archviz-gateway", "iss": "archviz-auth", "iat": NOW,
                      "exp": NOW + 60, "jti": JTI}  # fmt: skip
    assert tokens.granted_scopes(claims) == frozenset(ROLE_SCOPES["bidder"])


def test_an_issued_token_names_its_key_and_type_and_algorithm(key) -> None:
    """The header is {alg: EdDSA, kid, typ: at+jwt}; a jti is random when not given."""
    token = tokens.issue("ada", "viewer", key, NOW)
    assert jwt.get_unverified_header(token) == {"alg": "EdDSA", "kid": key.kid, "typ": "at+jwt"}
    other = tokens.issue("ada", "viewer", key, NOW)
    jtis = {jwt.decode(t, options={"verify_signature": False})["jti"] for t in (token, other)}
    assert len(jtis) == 2


def test_dates_keep_the_millisecond(key, keys) -> None:
    """iat is to the ms, so "expire every token issued before T" parts tokens of one second."""
    claims = tokens.verify(tokens.issue("ada", "viewer", key, NOW + 0.4567), keys, now=NOW + 1)
    assert (claims["iat"], claims["exp"]) == (NOW + 0.457, NOW + 0.457 + tokens.DEFAULT_TTL_S)


@pytest.mark.parametrize(
    ("name", "role", "ttl", "words"),
    [
        ("", "viewer", 60, "a name is"),
        (" ada", "viewer", 60, "a name is"),
        ("a" * 41, "viewer", 60, "a name is"),
        ("ada\n", "viewer", 60, "a name is"),
        ("ada", "admin", 60, "unknown role"),
        ("ada", "viewer", 4, "a token lives"),
        ("ada", "viewer", tokens.MAX_TTL_S + 1, "a token lives"),
    ],
)
def test_issue_refuses_a_bad_name_role_or_lifetime(key, name, role, ttl, words) -> None:
    """The auth service cannot sign what verify would refuse."""
    with pytest.raises(ValueError, match=words):
        tokens.issue(name, role, key, NOW, ttl)


# --- verify: the key and the signature ---------------------------------------------------


@pytest.mark.parametrize("token", [None, ""])
def test_no_token_is_missing(keys, token) -> None:
    assert _refused(token, keys).error == "missing"


@pytest.mark.parametrize(
    "token",
    ["abc", "a.b.c", "a.b", "e30.e30.", "!!!.e30.sig", "x" * (tokens.MAX_TOKEN_CHARS + 1)],
)
def test_what_is_not_a_jwt_is_malformed(keys, token) -> None:
    """Garbage, wrong segment counts, bad base64 and oversized tokens."""
    assert _refused(token, keys).error == "malformed"


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_an_unsigned_token_is_alg_none_in_any_case(key, keys, alg) -> None:
    """alg: none is refused by name, however it is spelled, before any key is looked up."""
    header = {"alg": alg, "typ": "at+jwt", "kid": key.kid}
    token = f"{_b64(header)}.{_b64(_claims())}."
    refused = _refused(token, keys)
    assert refused.error == "alg_none"
    assert refused.message == "the token is unsigned (alg: none): refused"


def test_pyjwt_none_algorithm_token_is_alg_none(key, keys) -> None:
    """PyJWT's own unsigned encoding is refused the same way."""
    token = jwt.encode(_claims(), None, algorithm="none", headers={"kid": key.kid, "typ": "at+jwt"})
    assert _refused(token, keys).error == "alg_none"


def test_hs256_signed_with_the_public_key_is_refused(key, keys) -> None:
    """The algorithm-confusion forgery (HMAC keyed with the published key) never verifies."""
    public = base64.urlsafe_b64decode(key.public_jwk()["x"] + "=")
    token = jwt.encode(_claims(), public, algorithm="HS256",
                       headers={"kid": key.kid, "typ": "at+jwt"})  # fmt: skip
    refused = _refused(token, keys)
    assert refused.error == "bad_signature" and "only EdDSA" in refused.message


@pytest.mark.parametrize("alg", ["ES256", "RS256", "EdDSA ", "eddsa", 7, ["EdDSA"]])
def test_any_other_algorithm_is_a_bad_signature(key, keys, alg) -> None:
    """Only the exact name EdDSA is taken, before a key is even looked up."""
    token = f"{_b64({'alg': alg, 'typ': 'at+jwt', 'kid': key.kid})}.{_b64(_claims())}.{_b64(b'x')}"
    assert _refused(token, keys).error == "bad_signature"


def test_a_tampered_payload_is_a_bad_signature(key, keys) -> None:
    """A viewer's token edited to say instructor keeps its signature, which no longer fits."""
    head, _, signature = tokens.issue("ada", "viewer", key, NOW).split(".")
    forged = _b64(_claims(role="instructor", scope=" ".join(ROLE_SCOPES["instructor"])))
    assert _refused(f"{head}.{forged}.{signature}", keys).error == "bad_signature"


def test_a_token_signed_by_another_key_under_our_kid_is_a_bad_signature(key, keys) -> None:
    """The kid picks the key; the signature must then be that key's."""
    impostor = SigningKey(key.kid, Ed25519PrivateKey.generate())
    assert _refused(tokens.issue("ada", "viewer", impostor, NOW), keys).error == "bad_signature"


def test_a_kid_not_in_the_set_is_an_unknown_key(keys) -> None:
    """A token from a key the gateway has never had (or no longer has)."""
    stranger = SigningKey.generate()
    refused = _refused(tokens.issue("ada", "viewer", stranger, NOW), keys)
    assert refused.error == "unknown_key" and stranger.kid[:16] in refused.message


def test_a_rotated_out_key_is_accepted_until_its_retire_time(key) -> None:
    """A key being rotated out still verifies its tokens, then is unknown from that time."""
    retiring = KeySet.from_jwks({"keys": [key.public_jwk()]}, retire_at={key.kid: NOW + 10})
    token = tokens.issue("ada", "viewer", key, NOW)
    assert tokens.verify(token, retiring, now=NOW + 9.999)["sub"] == "ada"
    assert _refused(token, retiring, now=NOW + 10).error == "unknown_key"


@pytest.mark.parametrize(
    ("header", "words"),
    [
        ({"alg": None}, "no algorithm"),
        ({"kid": None}, "names no key"),
        ({"kid": 7}, "Key ID"),  # PyJWT's own check: a kid is a string
        ({"kid": ["a", "b"]}, "Key ID"),
        ({"typ": "JWT"}, "typ"),  # an ID token or any other JWT is not an access token
        ({"typ": None}, "typ"),
    ],
)
def test_header_problems_are_malformed(key, keys, header, words) -> None:
    """The header must name its algorithm and its key, and say it is an access token."""
    headers = {"alg": "EdDSA", "kid": key.kid, "typ": "at+jwt", **header}
    headers = {k: v for k, v in headers.items() if v is not None}
    token = f"{_b64(headers)}.{_b64(_claims())}.{_b64(b'x' * 64)}"
    refused = _refused(token, keys)
    assert refused.error == "malformed" and words in refused.message


# --- verify: the claims --------------------------------------------------------------------


@pytest.mark.parametrize("claim", tokens.REQUIRED_CLAIMS)
def test_every_required_claim_must_be_there(key, keys, claim) -> None:
    """A token without sub, role, scope, aud, iss, iat, exp or jti is malformed, named."""
    refused = _refused(_sign(key, _claims(**{claim: None})), keys)
    assert refused.error == "malformed" and claim in refused.message


@pytest.mark.parametrize("aud", ["archviz-catalog", "", ["archviz-gateway", "other"], 7])
def test_another_audience_is_wrong_audience(key, keys, aud) -> None:
    """Only a token for archviz-gateway, exactly, passes (a list of audiences does not)."""
    error = _refused(_sign(key, _claims(aud=aud)), keys).error
    assert error == ("malformed" if aud == "" else "wrong_audience")


def test_the_gateway_may_verify_for_another_audience(key) -> None:
    """verify's audience is the caller's: a catalog that checked tokens would pass its own."""
    catalog = KeySet.from_jwks({"keys": [key.public_jwk()]})
    token = _sign(key, _claims(aud="archviz-catalog"))
    assert tokens.verify(token, catalog, now=NOW, audience="archviz-catalog")["aud"]
    assert _refused(token, catalog, audience="archviz-gateway").error == "wrong_audience"


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"iss": "someone-else"}, "not issued by"),
        ({"sub": 7}, "sub"),
        ({"sub": "ada\nrole: instructor"}, "sub"),
        ({"role": "admin"}, "role"),
        ({"scope": ["bids:write"]}, "scope"),
        ({"jti": "short"}, "jti"),
        ({"jti": 12345678901234567890}, "jti"),
        ({"iat": "yesterday"}, "iat and exp"),
        ({"iat": True}, "iat and exp"),
        ({"exp": NOW}, "iat and exp"),  # exp must be after iat
        ({"exp": NOW - 5}, "iat and exp"),
        ({"exp": NOW + tokens.MAX_TTL_S + 1}, "iat and exp"),  # longer than any we issue
        ({"nbf": "soon"}, "nbf"),
    ],
)
def test_claims_of_the_wrong_type_or_bounds_are_malformed(key, keys, changes, words) -> None:
    """Signed by our key but not what the auth service issues: refused, the claim named."""
    refused = _refused(_sign(key, _claims(**changes)), keys)
    assert refused.error == "malformed" and words in refused.message


# --- verify: time and revocation ---------------------------------------------------------


def test_expiry_is_checked_against_the_given_clock_with_the_leeway(key, keys) -> None:
    """Valid until exp + leeway (exclusive), then expired, saying how long ago."""
    token = tokens.issue("ada", "viewer", key, NOW, 60)
    assert tokens.verify(token, keys, now=NOW + 60 + tokens.LEEWAY_S - 0.001)
    refused = _refused(token, keys, now=NOW + 60 + tokens.LEEWAY_S)
    assert refused.error == "expired" and "expired 1 s ago" in refused.message
    assert _refused(token, keys, now=NOW + 3600).error == "expired"
    assert _refused(token, keys, now=NOW + 61, leeway_s=0).error == "expired"


def test_a_token_from_the_future_is_not_yet_valid(key, keys) -> None:
    """Issued later than now + leeway: refused; within the leeway: taken."""
    token = tokens.issue("ada", "viewer", key, NOW + 10)
    assert _refused(token, keys, now=NOW).error == "not_yet_valid"
    assert tokens.verify(token, keys, now=NOW + 10 - tokens.LEEWAY_S)["sub"] == "ada"


def test_nbf_in_the_future_is_not_yet_valid(key, keys) -> None:
    """A not-before date is honoured like iat."""
    token = _sign(key, _claims(nbf=NOW + 100))
    refused = _refused(token, keys, now=NOW + 1)
    assert refused.error == "not_yet_valid" and "in 99 s" in refused.message
    assert tokens.verify(token, keys, now=NOW + 100)["sub"] == "ada"


def test_a_revoked_jti_is_revoked(key, keys) -> None:
    """A signed, in-date token whose id was revoked is refused; others pass."""
    token = tokens.issue("ada", "viewer", key, NOW, jti=JTI)
    revoked = Revocations(jtis=frozenset({JTI}))
    assert _refused(token, keys, revocations=revoked).error == "revoked"
    other = tokens.issue("ada", "viewer", key, NOW)
    assert tokens.verify(other, keys, now=NOW + 1, revocations=revoked)


def test_tokens_issued_before_the_watermark_are_expired(key, keys) -> None:
    """Expire every token: those issued before T are refused, from T on they pass."""
    before = tokens.issue("ada", "viewer", key, NOW + 4.999)
    at = tokens.issue("ada", "viewer", key, NOW + 5)
    watermark = Revocations(issued_before=NOW + 5)
    refused = _refused(before, keys, now=NOW + 6, revocations=watermark)
    assert refused.error == "expired" and "instructor" in refused.message
    assert tokens.verify(at, keys, now=NOW + 6, revocations=watermark)


def test_revocation_is_checked_only_after_the_signature(keys) -> None:
    """A forged token with a revoked jti is a bad signature or unknown key, not "revoked":
    nothing is said about our revocations to whoever cannot sign."""
    stranger = SigningKey.generate()
    token = tokens.issue("ada", "viewer", stranger, NOW, jti=JTI)
    assert _refused(token, keys, revocations=Revocations(frozenset({JTI}))).error == "unknown_key"


def test_the_error_vocabulary_is_the_documented_one() -> None:
    """ERRORS is the small list the 401's body may carry."""
    assert set(tokens.ERRORS) == {"missing", "malformed", "alg_none", "bad_signature",
                                  "unknown_key", "expired", "wrong_audience", "revoked",
                                  "not_yet_valid"}  # fmt: skip
