"""Run an ASGI application under daphne in this process (dashboard and nodes)."""

from collections.abc import Callable

from daphne.endpoints import build_endpoint_description_strings
from daphne.server import Server

from archviz.core.labsocket import MAX_FRAME_BYTES
from archviz.core.ports import require_free


class _Server(Server):
    def __init__(self, *args, on_listening: Callable[[], None], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._on_listening = on_listening

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
        endpoints=build_endpoint_description_strings(host=host, port=port),
        signal_handlers=True,
        verbosity=0,
        websocket_max_message_size=MAX_FRAME_BYTES,
        websocket_max_frame_size=MAX_FRAME_BYTES,
        application_close_timeout=2,
        on_listening=on_listening,
        ready_callable=on_ready,
    ).run()
