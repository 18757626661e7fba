"""Run an ASGI application under daphne in this process (dashboard and nodes).

Daphne gives an application no backpressure: `send` returns as soon as Twisted has the
bytes, however many a client has not read. So each connection's scope carries, under
UNSENT_BYTES, a function that says how many bytes written to it wait unsent (autobahn's
queue and Twisted's buffer), for the sockets that must close a client too far behind.
"""

import pprint
from collections.abc import Callable
from functools import partial

import autobahn.websocket.protocol
from daphne.endpoints import build_endpoint_description_strings
from daphne.server import Server

from archviz.core.labsocket import MAX_FRAME_BYTES
from archviz.core.ports import LISTEN_BACKLOG, require_free

UNSENT_BYTES = "archviz.unsent_bytes"  # scope key: () -> int


def unsent_bytes(protocol) -> int:
    """Bytes given to this daphne protocol's connection that its client has not taken yet.
    Twisted's FileDescriptor keeps them in `dataBuffer` (from `offset` on) and in
    `_tempDataBuffer` (counted by `_tempDataLen`); no public call reports that count."""
    queued = sum(len(data) for data, _ in getattr(protocol, "send_queue", ()))
    transport = getattr(protocol, "transport", None)
    while transport is not None and not hasattr(transport, "dataBuffer"):
        transport = getattr(transport, "transport", None)  # a ProtocolWrapper (TLS, ...)
    if transport is None:
        return queued  # the connection is gone: nothing of it waits
    waiting = len(transport.dataBuffer) - transport.offset + transport._tempDataLen
    return queued + waiting


class _FormatWhenLogged:
    """pprint.pformat of an object, done only if a log line that holds it is written."""

    def __init__(self, obj: object) -> None:
        self.obj = obj

    def __str__(self) -> str:
        return pprint.pformat(self.obj)


# Autobahn pretty-prints every new WebSocket's options for a debug log line that is never
# written (its logger is off): measured with py-spy in bench.overload's storm, three
# quarters of autobahn's work to set a connection up. The text is made if it is logged.
autobahn.websocket.protocol.pformat = _FormatWhenLogged


class _Server(Server):
    def __init__(self, *args, on_listening: Callable[[], None], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._on_listening = on_listening

    def create_application(self, protocol, scope):
        scope[UNSENT_BYTES] = partial(unsent_bytes, protocol)
        return super().create_application(protocol, scope)

    def listen_success(self, port) -> None:
        super().listen_success(port)
        # Close oversized frames with a close frame (1009) rather than dropping the TCP
        # connection, so the page can tell the user what happened.
        self.ws_factory.setProtocolOptions(failByDrop=False)
        self._on_listening()


def serve(
    application,
    host: str,
    port: int,
    *,
    setting: str,
    on_listening: Callable[[], None] = lambda: None,
    on_ready: Callable[[], None] | None = None,
) -> None:
    """Serve until SIGINT/SIGTERM; a port in use is a one-line error naming the setting.
    `on_ready` runs once daphne's asyncio loop is the current one, just before it runs (to
    start tasks of the caller's own on it)."""
    require_free(host, port, setting)
    _Server(
        application,
        endpoints=[
            f"{endpoint}:backlog={LISTEN_BACKLOG}"
            for endpoint in build_endpoint_description_strings(host=host, port=port)
        ],
        signal_handlers=True,
        verbosity=0,
        websocket_max_message_size=MAX_FRAME_BYTES,
        websocket_max_frame_size=MAX_FRAME_BYTES,
        application_close_timeout=2,
        on_listening=on_listening,
        ready_callable=on_ready,
    ).run()
