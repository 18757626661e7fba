"""A recording exported as .jsonl.gz and imported elsewhere is the same recording; a bad
file is refused with a clear error and nothing is stored."""

import gzip
import io
import json

import pytest
from django.core.management import CommandError, call_command

from archviz.recorder import fileformat
from archviz.recorder.keys import IMPORTED
from archviz.recorder.source import Recording, recording_named


def _exported(client) -> bytes:
    out = io.BytesIO()
    fileformat.write(Recording(client), out)
    return out.getvalue()


def _all(recording: Recording) -> list:
    return [list(recording.entries(s)) for s in ("trace", "keyframes", "markers")]


def _gz(*lines: str) -> bytes:
    return gzip.compress("".join(line + "\n" for line in lines).encode())


HEADER = json.dumps({"format": "archviz-recording", "version": 1, "from": 0, "to": 1})


def test_export_then_import_gives_the_same_recording(redis_client, recorded_run) -> None:
    """Every entry, id and payload comes back, under the imported name."""
    raw = _exported(redis_client)
    head = json.loads(gzip.decompress(raw).split(b"\n")[0])
    assert head["format"] == "archviz-recording" and head["version"] == 1
    assert (head["from"], head["to"]) == (recorded_run["start"], recorded_run["start"] + 9000)
    imported, count = fileformat.import_file(redis_client, raw, "monday")
    assert count == 10 + 3 + 2
    assert _all(imported) == _all(Recording(redis_client))
    assert recording_named(redis_client, "monday").span() == Recording(redis_client).span()


def test_the_commands_round_trip_a_recording(redis_client, recorded_run, tmp_path) -> None:
    """manage.py recorder_export, then recorder_import, gives the same entries."""
    path = tmp_path / "run.jsonl.gz"
    call_command("recorder_export", str(path))
    call_command("recorder_import", str(path), "--name", "copy")
    assert _all(recording_named(redis_client, "copy")) == _all(Recording(redis_client))


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (_gz(HEADER)[:-9], "truncated or not gzip"),
        (b"not gzip at all", "truncated or not gzip"),
        (_gz(json.dumps({"format": "archviz-recording", "version": 2})), "version 2"),
        (_gz(json.dumps({"format": "something else", "version": 1})), "not an archviz recording"),
        (_gz(HEADER, "{garbage"), "line 2: not JSON"),
        (_gz(HEADER, '{"stream": "trace", "id": "5-0", "events": [{"kind": "x"}]}'), "line 2:"),
        (_gz(HEADER, '{"stream": "nope", "id": "5-0"}'), "line 2: unknown stream"),
        (
            _gz(
                HEADER,
                '{"stream": "markers", "id": "9-0", "marker": {"ts": 9, "kind": "node"}}',
                '{"stream": "markers", "id": "8-0", "marker": {"ts": 8, "kind": "node"}}',
            ),
            "line 3: markers entry 8-0 is out of order",
        ),
        (gzip.compress(b""), "the file is empty"),
    ],
)
def test_a_bad_file_is_refused_and_nothing_is_stored(redis_client, raw, says) -> None:
    """Truncated, not gzip, another version, garbage lines: a RecordingError that says so."""
    with pytest.raises(fileformat.RecordingError, match=says):
        fileformat.import_file(redis_client, raw, "bad")
    assert not redis_client.sismember(IMPORTED, "bad")
    assert not redis_client.keys("archviz:recorder:run:*")


def test_an_oversized_file_is_refused_before_it_is_unpacked(redis_client, monkeypatch) -> None:
    """Over MAX_FILE_BYTES, or unpacking to over MAX_UNPACKED_BYTES: refused, with the cap."""
    monkeypatch.setattr(fileformat, "MAX_FILE_BYTES", 100)
    with pytest.raises(fileformat.RecordingError, match="at most 100 are read"):
        fileformat.import_file(redis_client, b"x" * 101, "big")
    monkeypatch.setattr(fileformat, "MAX_FILE_BYTES", 10**6)
    monkeypatch.setattr(fileformat, "MAX_UNPACKED_BYTES", 1000)
    with pytest.raises(fileformat.RecordingError, match="unpacks to over 1000 bytes"):
        fileformat.import_file(redis_client, _gz(HEADER, " " * 2000), "big")


def test_the_import_command_says_what_is_wrong(redis_client, tmp_path) -> None:
    """A bad file through manage.py recorder_import: a CommandError naming the file."""
    path = tmp_path / "bad.jsonl.gz"
    path.write_bytes(_gz(HEADER, "{garbage"))
    with pytest.raises(CommandError, match=r"bad\.jsonl\.gz: line 2: not JSON"):
        call_command("recorder_import", str(path), "--name", "bad")
    with pytest.raises(CommandError, match="a recording's name"):
        call_command("recorder_import", str(path), "--name", "Bad Name")


def test_exporting_nothing_says_so(redis_client, tmp_path) -> None:
    """An empty recording cannot be exported: a clear error."""
    with pytest.raises(CommandError, match="nothing is recorded yet"):
        call_command("recorder_export", str(tmp_path / "x.jsonl.gz"))
