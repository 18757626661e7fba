"""`manage.py recorder`: the lab's flight recorder (one per lab; the supervisor runs it)."""

from django.core.management.base import BaseCommand

from archviz.core.runner import component
from archviz.recorder.recording import record


class Command(BaseCommand):
    requires_system_checks: list[str] = []
    help = "Record the lab: a state keyframe every second, and markers for the timeline."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--id", default="recorder", help="registry id")

    def handle(self, *args, id: str, **options) -> None:
        with component(id, "recorder") as running:
            running.beat()
            running.run_async(lambda _running, stop: record(stop))
