"""`manage.py recorder_export`: a recording to a .jsonl.gz file (or Chrome Trace JSON)."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from archviz.core.redis_conn import shared_client
from archviz.recorder import chrome, fileformat
from archviz.recorder.source import recording_named


class Command(BaseCommand):
    requires_system_checks: list[str] = []
    help = "Export a recording as .jsonl.gz (to import elsewhere) or Chrome Trace JSON (Perfetto)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", type=Path, help="the file to write")
        parser.add_argument("--recording", default="live", help="'live' or an imported name")
        parser.add_argument("--format", choices=("jsonl", "chrome"), default="jsonl")
        parser.add_argument("--from", dest="start", default="-", help="unix ms (default: first)")
        parser.add_argument("--to", dest="end", default="+", help="unix ms (default: last)")

    def handle(self, *args, path: Path, recording: str, format: str, start, end, **options):
        found = recording_named(shared_client(), recording)
        if found is None:
            raise CommandError(f"no recording named {recording!r}")
        try:
            if format == "chrome":
                path.write_text(json.dumps(chrome.from_recording(found, start, end)))
            else:
                with path.open("wb") as out:
                    fileformat.write(found, out, start, end)
        except fileformat.RecordingError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"wrote {path} ({path.stat().st_size} bytes)")
