"""The wire vocabulary is written once in Python and mirrored in the JS: the two agree.

Most of it is in static/archviz/js/lib/protocol.js; the balancer's algorithm names are in
lib/algorithms.js (with the words that explain them) and the chat ledger's columns in the
chat app's views.js. Each check compares two non-empty lists read from the source, so a
name added, dropped or misspelt on either side fails it.
"""

import inspect
import re
import typing
from pathlib import Path
from typing import Literal, get_args, get_origin, is_typeddict

import pytest

from archviz.balancer.algorithms import NAMES as ALGORITHM_NAMES
from archviz.chat.store import LEDGER_FIELDS
from archviz.classroom import messages as classroom_messages
from archviz.core import close_codes, labsocket, set_by
from archviz.dashboard import messages
from archviz.gateway import messages as gateway_messages
from archviz.lab.control import NODE_ACTIONS
from archviz.queue.socket import SCENARIO_ACTIONS
from archviz.trace.events import KINDS, SCHEMA_VERSION

ROOT = Path(__file__).resolve().parent.parent
LIB = ROOT / "static/archviz/js/lib"
PROTOCOL_JS = LIB / "protocol.js"
ALGORITHMS_JS = LIB / "algorithms.js"
SETBY_JS = LIB / "setby.js"
CHAT_VIEWS_JS = ROOT / "archviz/chat/static/archviz/chat/views.js"


def _js_block(name: str, source: str) -> str:
    """The text of `export const <name> = …` up to its closing `);` (ValueError if absent)."""
    start = source.index(f"export const {name} ")
    return source[start:].split(");\n", 1)[0]


def _js_strings(name: str, source: str) -> list[str]:
    """The strings of a frozen array of strings: export const X = Object.freeze(["a", …])."""
    return re.findall(r'"([^"]*)"', _js_block(name, source).split("=", 1)[1])


def _js_keys(name: str, source: str, key: str = r"[a-z_.]+") -> list[str]:
    """The top-level keys of a frozen object literal, one per line, in order."""
    return re.findall(rf'^  "?({key})"?:', _js_block(name, source), re.M)


def _frames(*modules: object) -> dict[str, list[str]]:
    """type -> the other fields, of every TypedDict in the modules with a Literal `type`."""
    found = {}
    for module in modules:
        for _, cls in inspect.getmembers(module, is_typeddict):
            hints = typing.get_type_hints(cls)
            if cls.__module__ == module.__name__ and get_origin(hints.get("type")) is Literal:
                for kind in get_args(hints["type"]):
                    found[kind] = [field for field in hints if field != "type"]
    return found


def _js_frames(source: str) -> dict[str, list[str]]:
    """SERVER_FRAMES: each frame type with the list of its fields."""
    rows = re.findall(r"^  ([a-z_]+): \[([^\]]*)\]", _js_block("SERVER_FRAMES", source), re.M)
    return {kind: re.findall(r'"([a-z_]+)"', fields) for kind, fields in rows}


def _same(python: object, js: list[str]) -> None:
    assert python and js, "one side is empty: the mirror would agree with anything"
    assert len(js) == len(set(js)), f"listed twice in the JS: {js}"
    difference = {"js only": set(js) - set(python), "python only": set(python) - set(js)}
    assert set(js) == set(python), difference


def test_js_knows_exactly_the_python_trace_kinds() -> None:
    """Every trace kind in archviz/trace/events.py is described in protocol.js, and no other."""
    _same(KINDS, _js_keys("TRACE_KINDS", PROTOCOL_JS.read_text()))


def test_js_reads_the_python_trace_schema_version() -> None:
    """A new event schema in events.py fails here until the pages have been checked against it."""
    version = re.search(r"^export const SCHEMA_VERSION = (\d+);", PROTOCOL_JS.read_text(), re.M)
    assert version and int(version.group(1)) == SCHEMA_VERSION


def test_js_knows_every_close_code() -> None:
    """Every close code archviz sends has a description in protocol.js."""
    codes = _js_keys("CLOSE_CODES", PROTOCOL_JS.read_text(), key=r"\d{4}")
    _same({str(code) for code in close_codes.DESCRIPTIONS}, codes)


def test_js_knows_exactly_the_node_statuses() -> None:
    """protocol.js's NODE_STATUSES are the NodeStatus literal of archviz/dashboard/messages.py."""
    _same(get_args(messages.NodeStatus), _js_strings("NODE_STATUSES", PROTOCOL_JS.read_text()))


def test_js_parses_exactly_the_frames_the_server_sends() -> None:
    """SERVER_FRAMES are the types of the dashboard's frames and the lab socket's answers (the
    gateway page's run of its comparison included)."""
    python = _frames(messages, labsocket, gateway_messages, classroom_messages)
    assert {"ack", "error", "pong", "state"} <= set(python)  # both modules were read
    _same(python, _js_keys("SERVER_FRAMES", PROTOCOL_JS.read_text(), key=r"[a-z_]+"))


def test_js_knows_each_frames_fields() -> None:
    """Each frame's fields in protocol.js are its TypedDict's (e.g. state's invalid_events)."""
    python = _frames(messages, labsocket, gateway_messages, classroom_messages)
    js = _js_frames(PROTOCOL_JS.read_text())
    assert js.keys() == python.keys()
    for kind, fields in python.items():
        _same(fields, js[kind])


def test_js_control_actions_are_the_supervisors() -> None:
    """The node actions a page may ask for are the ones archviz/lab/control.py carries out."""
    _same(NODE_ACTIONS, _js_strings("CONTROL_ACTIONS", PROTOCOL_JS.read_text()))


def test_js_queue_actions_are_the_queue_apps() -> None:
    """The queue page's scenario actions are the ones archviz/queue/socket.py accepts."""
    _same(SCENARIO_ACTIONS, _js_strings("QUEUE_ACTIONS", PROTOCOL_JS.read_text()))


def test_js_sends_exactly_the_request_types_the_apps_register() -> None:
    """REQUEST_TYPES are the lab socket's registered handlers (each app adds its own)."""
    _same(labsocket.request_types(), _js_strings("REQUEST_TYPES", PROTOCOL_JS.read_text()))


def test_every_request_builder_sends_a_registered_type() -> None:
    """Each `type: "…"` a builder in protocol.js writes is one the server registered."""
    source = PROTOCOL_JS.read_text()
    builders = source[source.index("// client -> server") :]
    sent = set(re.findall(r'\{ type: "([a-z_.]+)"', builders))
    assert sent and sent <= set(labsocket.request_types()), sent - set(labsocket.request_types())


def test_js_names_exactly_the_shared_state_set_by_records() -> None:
    """lib/setby.js has words for every `what` of archviz/core/set_by.py, and no other."""
    _same(set_by.WHATS, _js_keys("SET_BY_WHATS", SETBY_JS.read_text(), key=r"[a-z_.]+"))


def test_js_explains_exactly_the_balancers_algorithms() -> None:
    """lib/algorithms.js explains every strategy in archviz/balancer/algorithms.py, and no other."""
    _same(ALGORITHM_NAMES, _js_keys("ALGORITHMS", ALGORITHMS_JS.read_text(), key=r"[a-z_]+"))


def test_js_ledger_columns_are_the_chat_ledgers_fields_in_order() -> None:
    """The chat page's ledger cells line up with LEDGER_FIELDS (the template's headers)."""
    block = _js_block("LEDGER_COLUMNS", CHAT_VIEWS_JS.read_text())
    columns = re.findall(r'^  \["([a-z_]+)",', block, re.M)
    _same(LEDGER_FIELDS, columns)
    assert columns == list(LEDGER_FIELDS)


def test_the_readers_see_a_difference() -> None:
    """The checks can fail: the readers find what a source holds, and a missing name shows."""
    source = (
        'export const A = Object.freeze(["up", "down"]);\n'
        'export const B = Object.freeze({\n  "x.y": "words",\n  plain: 1,\n});\n'
    )
    assert _js_strings("A", source) == ["up", "down"]
    assert _js_keys("B", source) == ["x.y", "plain"]
    with pytest.raises(AssertionError):
        _same(("up", "down", "failed"), _js_strings("A", source))
    with pytest.raises(AssertionError):
        _same((), [])
    with pytest.raises(ValueError):
        _js_block("MISSING", source)


def test_chat_client_parses_exactly_the_frames_a_node_sends() -> None:
    """The chat client's frame types are archviz/chat/messages.py's node -> client frames,
    and the refusal and shed frames an overloaded node sends any socket before closing it
    (node/handshake.py, node/shedder.py)."""
    from archviz.chat import messages as chat_messages
    from archviz.overload import messages as overload_messages

    frames = [*get_args(chat_messages.ServerFrame),
              overload_messages.OverloadedFrame, overload_messages.ShedFrame]  # fmt: skip
    python = [get_args(typing.get_type_hints(frame)["type"])[0] for frame in frames]
    source = (ROOT / "archviz/chat/static/archviz/chat/client.js").read_text()
    _same(python, _js_strings("CHAT_FRAME_TYPES", source))
