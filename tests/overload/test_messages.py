"""The tab's client (static/archviz/overload/tab.js) reads exactly the frames a node sends a
held socket (archviz/overload/messages.py)."""

import re
import typing
from pathlib import Path

from archviz.overload import messages

TAB_JS = Path(__file__).resolve().parents[2] / "archviz/overload/static/archviz/overload/tab.js"


def test_the_tab_reads_exactly_the_hold_frames() -> None:
    python = [
        typing.get_args(typing.get_type_hints(frame)["type"])[0]
        for frame in typing.get_args(messages.HoldFrame)
    ]
    block = TAB_JS.read_text().split("export const HOLD_FRAME_TYPES", 1)[1].split(");", 1)[0]
    js = re.findall(r'"([a-z_]+)"', block)
    assert python and sorted(js) == sorted(python)
