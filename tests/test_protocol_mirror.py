"""The wire vocabulary is written once in Python and mirrored in protocol.js: they agree."""

import re
from pathlib import Path

from archviz.core import close_codes
from archviz.trace.events import KINDS

PROTOCOL_JS = Path(__file__).resolve().parent.parent / "static/archviz/js/lib/protocol.js"


def _js_block(name: str) -> str:
    source = PROTOCOL_JS.read_text()
    return source[source.index(f"export const {name}") :].split("});", 1)[0]


def test_js_knows_exactly_the_python_trace_kinds() -> None:
    """Every trace kind in archviz/trace/events.py is described in protocol.js, and no other."""
    js_kinds = set(re.findall(r'^\s*"([a-z]+\.[a-z_]+)":', _js_block("TRACE_KINDS"), re.M))
    assert js_kinds == set(KINDS)


def test_js_knows_every_close_code() -> None:
    """Every close code archviz sends has a description in protocol.js."""
    js_codes = {int(c) for c in re.findall(r"^\s*(\d{4}):", _js_block("CLOSE_CODES"), re.M)}
    assert js_codes == set(close_codes.DESCRIPTIONS)
