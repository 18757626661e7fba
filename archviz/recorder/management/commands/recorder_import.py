"""`manage.py recorder_import`: a .jsonl.gz recording from another machine, to replay here."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from archviz.core.redis_conn import shared_client
from archviz.recorder import fileformat


class Command(BaseCommand):
    requires_system_checks: list[str] = []
    help = "Import a recording (.jsonl.gz, as recorder_export writes it) under a name."

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--name", required=True, help="1-40 of a-z, 0-9, - or _")

    def handle(self, *args, path: Path, name: str, **options) -> None:
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from None
        if size > fileformat.MAX_FILE_BYTES:
            raise CommandError(f"{path} is {size} bytes: at most {fileformat.MAX_FILE_BYTES}")
        try:
            _recording, count = fileformat.import_file(shared_client(), path.read_bytes(), name)
        except fileformat.RecordingError as exc:
            raise CommandError(f"{path}: {exc}") from None
        self.stdout.write(f"imported {count} entries as {name!r}")
