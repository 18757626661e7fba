"""The flight recorder's Redis keys (the trace log itself is archviz:trace:log)."""

from typing import NamedTuple

from archviz.core.recording_markers import MARKERS
from archviz.trace.events import TRACE_LOG

KEYFRAMES = "archviz:recorder:keyframes"  # stream: {"state": JSON LabState}, one a second
REPLAY_CHANNEL = "archviz:recorder:replay"  # pub/sub: an instructor's replay for the class
CLASS_REPLAY = "archviz:recorder:class-replay"  # string: the class's replay, till its end
IMPORTED = "archviz:recorder:imported"  # set: the names of the imported recordings


class RecordingKeys(NamedTuple):
    """Where one recording's three streams are."""

    trace: str
    keyframes: str
    markers: str


LIVE = RecordingKeys(TRACE_LOG, KEYFRAMES, MARKERS)


def imported(name: str) -> RecordingKeys:
    """An imported recording's streams, by the name it was imported as."""
    base = f"archviz:recorder:run:{name}"
    return RecordingKeys(f"{base}:trace", f"{base}:keyframes", f"{base}:markers")
