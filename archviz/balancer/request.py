"""One request as the balancer's server parsed it, and the limits it must keep within."""

from http import HTTPStatus
from urllib.parse import unquote

from multidict import CIMultiDictProxy

MAX_REQUEST_LINE = 8190
MAX_HEADER_FIELD = 8192  # one header, name and value
MAX_HEADERS = 128
MAX_HEAD_BYTES = 64 * 1024  # a request head still unfinished after this many bytes: 431
MAX_BODY_BYTES = 1024 * 1024


class BadRequest(Exception):
    """A request the balancer refuses before any node sees it."""

    def __init__(self, status: HTTPStatus, why: str) -> None:
        super().__init__(why)
        self.status = status


class Request:
    """One parsed request, body included (the proxy may have to send it twice)."""

    __slots__ = ("body", "headers", "keep_alive", "method", "raw_path", "remote", "version")
    scheme = "http"

    def __init__(
        self,
        method: str,
        raw_path: str,
        version: str,
        headers: CIMultiDictProxy[str],
        body: bytes,
        remote: str | None,
        keep_alive: bool,
    ) -> None:
        self.method = method
        self.raw_path = raw_path
        self.version = version
        self.headers = headers
        self.body = body
        self.remote = remote
        self.keep_alive = keep_alive

    @property
    def path(self) -> str:
        return unquote(self.raw_path.partition("?")[0])

    @property
    def host(self) -> str:
        return self.headers.get("Host", "")
