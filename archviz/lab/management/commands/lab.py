"""`manage.py lab`: the lab supervisor — embedded Redis, the dashboard, nodes and consumers."""

import asyncio
import contextlib
import secrets

import redis
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from archviz.conf import kept_secret
from archviz.core import hooks, signin_links
from archviz.core.hooks import ChildSpec
from archviz.core.ports import require_free
from archviz.core.redis_conn import redacted, shared_client, sync_client
from archviz.lab.backoff import RestartPolicy
from archviz.lab.embedded_redis import EmbeddedRedis
from archviz.lab.supervisor import Supervisor
from archviz.trace import emitter

ADMIN_USERNAME = "admin"


class Command(BaseCommand):
    help = "Run the whole lab until Ctrl-C: Redis, the dashboard and the worker nodes."

    def handle(self, *args, **options) -> None:
        for line in hooks.startup_lines():  # what the apps loaded: the lessons, bad files named
            self._say(line())
        host = settings.ARCHVIZ_HOST
        port_settings = [
            setting
            for service in hooks.services()
            for setting in (service.port_setting, *service.more_port_settings)
            if setting
        ]
        for setting in ("ARCHVIZ_DASHBOARD_PORT", *port_settings, "ARCHVIZ_NODE_PORT"):
            if getattr(settings, setting):  # 0: a free one is picked
                require_free(host, getattr(settings, setting), setting)
        if settings.ARCHVIZ_DASHBOARDS > 1 and not any(
            service.fronts_dashboards for service in hooks.services()
        ):
            raise CommandError("ARCHVIZ_DASHBOARDS > 1 needs the load balancer app installed")
        call_command("migrate", interactive=False, verbosity=0)
        self._create_admin_once()

        embedded = None
        redis_url = settings.ARCHVIZ_REDIS_URL
        if redis_url is None:
            embedded = self._start_embedded_redis(settings.ARCHVIZ_REDIS_HOST)
            redis_url = embedded.url
            settings.ARCHVIZ_REDIS_URL = redis_url  # this process's emitter and clients
        else:
            self._say(f"using Redis at {redacted(redis_url)} (REDIS_URL)")

        supervisor = Supervisor(
            host=host,
            dashboard_port=settings.ARCHVIZ_DASHBOARD_PORT,
            node_base_port=settings.ARCHVIZ_NODE_PORT,
            redis_url=redis_url,
            embedded_redis=embedded,
            emitter=emitter.configure("supervisor", sync_client),
            load_desired=_desired_children,
            policy=RestartPolicy(max_crashes=settings.ARCHVIZ_RESTART_MAX_CRASHES),
            announce=self._say,
            on_ready=self._print_signin_link,
            dashboards=settings.ARCHVIZ_DASHBOARDS,
        )
        try:
            asyncio.run(supervisor.run())
        finally:
            if embedded is not None:
                embedded.stop()
                with contextlib.suppress(FileNotFoundError):
                    settings.REDIS_ADDRESS_FILE.unlink()

    def _start_embedded_redis(self, host: str) -> EmbeddedRedis:
        password_file = settings.REDIS_PASSWORD_FILE
        try:
            server = EmbeddedRedis(
                host,
                password=kept_secret(password_file, 32),
                maxmemory_mb=settings.ARCHVIZ_REDIS_MAXMEMORY_MB,
                pubsub_buffer_limit=settings.ARCHVIZ_REDIS_PUBSUB_BUFFER_LIMIT,
            ).start()
        except RuntimeError as exc:
            raise CommandError(f"could not start the embedded Redis: {exc}") from exc
        settings.REDIS_ADDRESS_FILE.write_text(server.address_url + "\n")  # no password
        self._say(
            f"embedded Redis: {server.address_url} (password in {password_file}; "
            f"persistence off; at most {server.maxmemory_mb} MB)"
        )
        return server

    def _print_signin_link(self, host: str, port: int) -> None:
        """A one-time link that makes the browser opening it the lab's instructor."""
        try:
            token = signin_links.issue(shared_client())
        except redis.RedisError as exc:
            self._say(f"  no sign-in link (Redis: {exc}); `python manage.py signin_link` makes one")
            return
        self._say(f"  {signin_links.describe(signin_links.url(host, port, token))}")

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
    """What every app asks to run; a name another kind already took is left out (one
    process per name: a consumer named like a node waits until the node is gone)."""
    children: dict[str, ChildSpec] = {}
    for load in hooks.children_loaders():
        for spec in load():
            children.setdefault(spec.name, spec)
    return list(children.values())
