"""Where the apps plug into the lab's hosts, so that the hosts import no demo.

Each app registers what it contributes from its AppConfig.ready(), which runs in every
process of the lab: the children the supervisor keeps running and the services it starts,
the supervisor commands an app defines, what a worker node serves, what every page is told,
and where the traffic generator's arrivals may also go. The lab socket's handlers register in
archviz/core/labsocket.py, the control commands in archviz/core/control.py.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from archviz.core.control import ControlCommand

# --- the supervisor --------------------------------------------------------------------


class ChildSpec(Protocol):
    """What an admin's row asks the supervisor to run (a node, a consumer, ...).

    A child that needs a port gets the next free one from ARCHVIZ_NODE_PORT (the nodes'
    numbers follow their ports), unless its spec also says `any_free_port = True` (the
    gateway demo's processes): then any free port, so that the nodes keep theirs.
    """

    kind: str  # the management command that runs it
    name: str  # its id everywhere in the lab
    needs_port: bool

    def runtime_params(self) -> dict[str, int | str]:
        """The parameters it applies live, without a restart."""
        ...


@dataclass(frozen=True)
class Service:
    """A component the supervisor starts once, after the nodes are up (the LB, traffic)."""

    id: str
    kind: str  # the management command
    port_setting: str = ""  # the setting with its port ("": it listens on none)
    # Settings of the other ports it listens on, which it reads itself: the lab checks them
    # free before it starts anything (the load balancer's gateway listener).
    more_port_settings: tuple[str, ...] = ()
    # Whether it fronts the dashboards: with ARCHVIZ_DASHBOARDS > 1 the supervisor starts it
    # first, with `--dashboards-port` (the learners' port), rather than after the nodes.
    fronts_dashboards: bool = False


class Supervision(Protocol):
    """What a supervisor command handler may do to the supervised children."""

    def children(self, kind: str) -> list[str]: ...
    def is_running(self, child_id: str) -> bool: ...
    async def kill(self, child_id: str, by: str, *, hold_restart_s: float = 0.0) -> None: ...
    def stop(self, child_id: str) -> None: ...
    async def start(self, child_id: str) -> None: ...


SupervisorHandler = Callable[[Supervision, ControlCommand], Awaitable[None]]

_children_loaders: list[Callable[[], list[ChildSpec]]] = []
_services: list[Service] = []
_supervisor_handlers: dict[str, SupervisorHandler] = {}


def register_children(load: Callable[[], list[ChildSpec]]) -> None:
    """`load` reads the enabled children of one kind from the database (sync)."""
    _children_loaders.append(load)


def children_loaders() -> list[Callable[[], list[ChildSpec]]]:
    return list(_children_loaders)


def register_service(service: Service) -> None:
    _services.append(service)


def services() -> list[Service]:
    return list(_services)


def register_supervisor_commands(prefix: str, handler: SupervisorHandler) -> None:
    """The supervisor hands `handler` every command whose type starts with `prefix`."""
    _supervisor_handlers[prefix] = handler


def supervisor_handlers() -> dict[str, SupervisorHandler]:
    return dict(_supervisor_handlers)


# --- the worker nodes ------------------------------------------------------------------


@dataclass(frozen=True)
class NodeRoutes:
    """What a worker node serves for an app, as modules Django and Channels import."""

    http_prefix: str = ""  # where the app's URLs go, e.g. "cart/"
    http_urls: str = ""  # a module with `urlpatterns`
    websocket_urls: str = ""  # a module with `websocket_urlpatterns`


# Runs in a worker node's process before it serves; may return what to do on each beat.
NodeStart = Callable[[str], Callable[[Any], None] | None]

_node_routes: list[NodeRoutes] = []
_node_starts: list[NodeStart] = []


def register_node_routes(routes: NodeRoutes) -> None:
    _node_routes.append(routes)


def node_routes() -> list[NodeRoutes]:
    return list(_node_routes)


def register_node_start(start: NodeStart) -> None:
    """`start(node_id)` runs in each worker node before it serves."""
    _node_starts.append(start)


def node_starts() -> list[NodeStart]:
    return list(_node_starts)


class SocketAdmission(Protocol):
    """A worker node's admission at every WebSocket handshake (archviz/node/handshake.py):
    the apps' consumers on a node call it without importing the node."""

    async def admit(self, consumer: Any) -> object | None: ...
    def release(self, consumer: Any) -> None: ...


_socket_admission: list[SocketAdmission] = []


def register_socket_admission(admission: SocketAdmission) -> None:
    """The node's, registered as it builds its application."""
    _socket_admission[:] = [admission]


async def admit_socket(consumer: Any) -> bool:
    """Admitted (the consumer accepts it itself), or refused and closed already; outside a
    node (a consumer under test) every socket is admitted."""
    if not _socket_admission:
        return True
    return await _socket_admission[0].admit(consumer) is not None


def release_socket(consumer: Any) -> None:
    if _socket_admission:
        _socket_admission[0].release(consumer)


# --- the pages -------------------------------------------------------------------------

_page_configs: list[Callable[[], dict[str, Any]]] = []


def register_page_config(config: Callable[[], dict[str, Any]]) -> None:
    """What every page's script is told besides the user (the traffic generator's limits,
    which several pages set)."""
    _page_configs.append(config)


def page_configs() -> list[Callable[[], dict[str, Any]]]:
    return list(_page_configs)


# --- the traffic generator -------------------------------------------------------------


class ArrivalSink(Protocol):
    """Somewhere the traffic generator's arrivals also go (the queue's producer)."""

    async def start(self) -> None: ...
    def offer(self, work_ms: float) -> None: ...
    def snapshot(self) -> dict[str, Any]: ...
    async def close(self) -> None: ...


_arrival_sinks: list[Callable[[], ArrivalSink]] = []


def register_arrival_sink(make: Callable[[], ArrivalSink]) -> None:
    _arrival_sinks.append(make)


def arrival_sinks() -> list[Callable[[], ArrivalSink]]:
    return list(_arrival_sinks)


# --- the lessons' live figures -----------------------------------------------------------


@dataclass(frozen=True)
class LiveFigure:
    """A number (or word) a lesson may wait on and quote: `read` takes its source's reading."""

    says: str  # what it is, in words
    read: Callable[[Any], float | int | str]


_figure_sources: dict[str, Callable[[Any], Any]] = {}  # name -> read(redis client)
_live_figures: dict[str, tuple[str, LiveFigure]] = {}  # figure name -> (source, figure)


def register_live_figures(
    source: str, read_source: Callable[[Any], Any], figures: dict[str, LiveFigure]
) -> None:
    """`read_source(client)` reads what `figures` are computed from, in one go from Redis
    (raising redis.RedisError when it cannot); a figure's name starts with its app's."""
    _figure_sources[source] = read_source
    _live_figures.update({name: (source, figure) for name, figure in figures.items()})


def live_figures() -> dict[str, tuple[str, LiveFigure]]:
    return dict(_live_figures)


def figure_source(source: str) -> Callable[[Any], Any]:
    return _figure_sources[source]


# --- what a worker node reports in its heartbeat -----------------------------------------

_heartbeat_extras: dict[str, Callable[[], Any]] = {}


def register_heartbeat_extra(key: str, snapshot: Callable[[], Any]) -> None:
    """A worker node's heartbeat also carries `snapshot()` under `key` (a demo's counters)."""
    _heartbeat_extras[key] = snapshot


def heartbeat_extras() -> dict[str, Any]:
    return {key: snapshot() for key, snapshot in _heartbeat_extras.items()}


# --- what `manage.py lab` says as it starts ---------------------------------------------

_startup_lines: list[Callable[[], str]] = []


def register_startup_line(line: Callable[[], str]) -> None:
    """`line` says, in one line, what an app loaded (the lessons); the lab prints it first."""
    _startup_lines.append(line)


def startup_lines() -> list[Callable[[], str]]:
    return list(_startup_lines)


# --- what the dashboard's feed forwards to every tab ---------------------------------------

_feed_channels: list[str] = []


def register_feed_channel(channel: str) -> None:
    """Every message published on `channel` (a JSON frame of the lab socket's vocabulary,
    made by the app's own code) goes to every open tab as it is (the class's state)."""
    if channel not in _feed_channels:
        _feed_channels.append(channel)


def feed_channels() -> list[str]:
    return list(_feed_channels)
