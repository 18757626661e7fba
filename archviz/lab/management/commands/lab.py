"""`manage.py lab`: the lab supervisor — embedded Redis, the dashboard, nodes and consumers."""

import asyncio
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from archviz.lab.backoff import RestartPolicy
from archviz.lab.embedded_redis import EmbeddedRedis
from archviz.lab.ports import require_free
from archviz.lab.reconcile import ChildSpec
from archviz.lab.supervisor import Supervisor
from archviz.trace import emitter

ADMIN_USERNAME = "admin"


class Command(BaseCommand):
    help = "Run the whole lab until Ctrl-C: Redis, the dashboard and the worker nodes."

    def handle(self, *args, **options) -> None:
        host = settings.ARCHVIZ_HOST
        if settings.ARCHVIZ_DASHBOARD_PORT:
            require_free(host, settings.ARCHVIZ_DASHBOARD_PORT, "ARCHVIZ_DASHBOARD_PORT")
        if settings.ARCHVIZ_LB_PORT:
            require_free(host, settings.ARCHVIZ_LB_PORT, "ARCHVIZ_LB_PORT")
        if settings.ARCHVIZ_NODE_PORT:
            require_free(host, settings.ARCHVIZ_NODE_PORT, "ARCHVIZ_NODE_PORT")
        call_command("migrate", interactive=False, verbosity=0)
        self._create_admin_once()

        embedded = None
        redis_url = settings.ARCHVIZ_REDIS_URL
        if redis_url is None:
            try:
                embedded = EmbeddedRedis(host).start()
            except RuntimeError as exc:
                raise CommandError(f"could not start the embedded Redis: {exc}") from exc
            redis_url = embedded.url
            settings.ARCHVIZ_REDIS_URL = redis_url  # this process's emitter and clients
            self._say(f"embedded Redis: {redis_url} (persistence off)")
        else:
            self._say(f"using Redis at {redis_url} (REDIS_URL)")

        supervisor = Supervisor(
            host=host,
            dashboard_port=settings.ARCHVIZ_DASHBOARD_PORT,
            balancer_port=settings.ARCHVIZ_LB_PORT,
            node_base_port=settings.ARCHVIZ_NODE_PORT,
            redis_url=redis_url,
            embedded_redis=embedded,
            emitter=emitter.configure("supervisor"),
            load_desired=_desired_children,
            policy=RestartPolicy(max_crashes=settings.ARCHVIZ_RESTART_MAX_CRASHES),
            announce=self._say,
        )
        try:
            asyncio.run(supervisor.run())
        finally:
            if embedded is not None:
                embedded.stop()

    def _say(self, line: str) -> None:
        self.stdout.write(line)
        self.stdout.flush()

    def _create_admin_once(self) -> None:
        """No default password: the first run makes one, prints it once, and never again."""
        users = get_user_model()
        if users.objects.filter(is_superuser=True).exists():
            return
        password = secrets.token_urlsafe(12)
        users.objects.create_superuser(ADMIN_USERNAME, password=password)
        self._say(
            f"admin account created for /admin/: user {ADMIN_USERNAME!r}, password {password!r}\n"
            "  (shown this once; change it with `python manage.py changepassword admin`)"
        )


def _desired_children() -> list[ChildSpec]:
    """The enabled nodes and queue consumers; a consumer named like a node is left out."""
    from archviz.dashboard.models import Consumer, Node

    nodes = [node.spec() for node in Node.objects.filter(enabled=True)]
    taken = set(Node.objects.values_list("name", flat=True))
    consumers = [c.spec() for c in Consumer.objects.filter(enabled=True) if c.name not in taken]
    return [*nodes, *consumers]
