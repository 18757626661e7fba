"""HAProxy 2.6 (Debian's) configured as a gateway over the same catalog replicas: bearer
token, `jwt_verify`, exp and aud checked with `jwt_payload_query`, a stick-table rate limit
per consumer (the token's sub), path routing.

HAProxy 2.6 verifies HS, RS, ES and PS signatures, not EdDSA: its tokens are ES256 ones with
the same claims as archviz's, signed by a P-256 key made here (iat/exp whole seconds, for
`jwt_payload_query(...,'int')`).
"""

import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from archviz.gateway.routes import ROLE_SCOPES
from archviz.gateway.tokens import AUDIENCE, ISSUER, TOKEN_TYPE
from bench.gateway.stack import wait_listening

RATE_PER_CONSUMER = 1_000  # requests per 10 s per sub: checked on every request, never reached

CONFIG = """
global
    nbthread 1
    maxconn 4096
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    timeout http-keep-alive 30s
backend per_consumer
    stick-table type string len 64 size 100k expire 60s store http_req_rate(10s)
frontend gateway
    bind {host}:{port}
    http-request set-var(txn.bearer) http_auth_bearer
    http-request deny deny_status 401 unless {{ var(txn.bearer) -m found }}
    http-request set-var(txn.alg) var(txn.bearer),jwt_header_query('$.alg')
    http-request deny deny_status 401 unless {{ var(txn.alg) -m str ES256 }}
    http-request set-var(txn.signed) var(txn.bearer),jwt_verify(txn.alg,"{key}")
    http-request deny deny_status 401 unless {{ var(txn.signed) -m int 1 }}
    http-request set-var(txn.aud) var(txn.bearer),jwt_payload_query('$.aud')
    http-request deny deny_status 401 unless {{ var(txn.aud) -m str {audience} }}
    http-request set-var(txn.now) date()
    http-request set-var(txn.ttl) var(txn.bearer),jwt_payload_query('$.exp','int'),sub(txn.now)
    http-request deny deny_status 401 unless {{ var(txn.ttl) -m int gt 0 }}
    http-request set-var(txn.sub) var(txn.bearer),jwt_payload_query('$.sub')
    http-request track-sc0 var(txn.sub) table per_consumer
    http-request deny deny_status 429 if {{ sc_http_req_rate(0) gt {rate} }}
    http-request deny deny_status 404 unless {{ path_beg /catalog/ }}
    use_backend catalog if {{ path_beg /catalog/ }}
backend catalog
    balance roundrobin
    http-reuse always
{servers}
"""


class EsKey:
    """A P-256 key pair: the private half signs the bench's tokens, HAProxy reads the other."""

    def __init__(self) -> None:
        self.private = ec.generate_private_key(ec.SECP256R1())
        self.kid = secrets.token_urlsafe(8)

    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def issue(self, name: str, role: str, now: float, ttl_s: int = 900) -> str:
        """An access token with archviz's claims, ES256-signed."""
        iat = int(now)
        claims = {"sub": name, "role": role, "scope": " ".join(ROLE_SCOPES[role]),
                  "aud": AUDIENCE, "iss": ISSUER, "iat": iat, "exp": iat + ttl_s,
                  "jti": secrets.token_urlsafe(16)}  # fmt: skip
        headers = {"kid": self.kid, "typ": TOKEN_TYPE}
        return jwt.encode(claims, self.private, algorithm="ES256", headers=headers)


class HAProxy:
    """One haproxy process (one thread) on `port` over `backends`, its config checked first."""

    def __init__(self, key: EsKey, backends: list[int], port: int, host: str = "127.0.0.1"):
        self.dir = Path(tempfile.mkdtemp(prefix="archviz-haproxy-"))
        key_path = self.dir / "es256.pem"
        key_path.write_bytes(key.public_pem())
        servers = "\n".join(f"    server catalog-{i} {host}:{p}" for i, p in enumerate(backends))
        text = CONFIG.format(host=host, port=port, key=key_path, audience=AUDIENCE,
                             rate=RATE_PER_CONSUMER, servers=servers)  # fmt: skip
        self.conf = self.dir / "haproxy.cfg"
        self.conf.write_text(text)
        self.port = port

    def check(self) -> str:
        """`haproxy -c -f`: its verdict, or RuntimeError with what it said."""
        done = subprocess.run(["haproxy", "-c", "-f", str(self.conf)],
                              capture_output=True, text=True)  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"haproxy -c refused the config:\n{done.stdout}{done.stderr}")
        return (done.stdout + done.stderr).strip()

    def __enter__(self) -> "HAProxy":
        log = self.dir / "haproxy.log"
        with open(log, "wb") as stderr:
            self.process = subprocess.Popen(["haproxy", "-db", "-f", str(self.conf)],
                                            stdout=subprocess.DEVNULL, stderr=stderr,
                                            stdin=subprocess.DEVNULL)  # fmt: skip
        try:
            wait_listening([self.port], timeout_s=10)
        except RuntimeError:
            self.process.kill()
            why = log.read_text(errors="replace")
            raise RuntimeError(f"haproxy is not listening: {why}") from None
        return self

    @property
    def pid(self) -> int:
        return self.process.pid

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.wait(5)
        shutil.rmtree(self.dir, ignore_errors=True)
