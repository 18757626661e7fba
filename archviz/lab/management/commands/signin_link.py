"""`manage.py signin_link`: a fresh one-time sign-in link for the lab running here."""

from urllib.parse import quote

import redis
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from archviz.core import keys, registry, signin_links
from archviz.core.redis_conn import redacted, sync_client
from archviz.lab.dashboards import DASHBOARD_ID, dashboard_ids

FIRST_OF_SEVERAL = dashboard_ids(2)[0]  # ARCHVIZ_DASHBOARDS > 1: dashboard-1


class Command(BaseCommand):
    requires_system_checks: list[str] = []
    help = "Print a one-time link that signs a browser in as the running lab's instructor."

    def handle(self, *args, **options) -> None:
        url = settings.ARCHVIZ_REDIS_URL or _embedded_redis_url()
        client = sync_client(url)
        try:
            dashboard = registry.lookup(client, "dashboard", DASHBOARD_ID) or registry.lookup(
                client, "dashboard", FIRST_OF_SEVERAL
            )
            if dashboard is None:
                raise CommandError(
                    f"the lab's dashboard is not running (nothing registered in the Redis at "
                    f"{redacted(url)}): start the lab with `make run`"
                )
            port = _learners_port(client) or dashboard.port
            token = signin_links.issue(client)
        except redis.RedisError as exc:
            raise CommandError(f"the lab's Redis at {redacted(url)}: {exc}") from exc
        self.stdout.write(signin_links.describe(signin_links.url(dashboard.host, port, token)))


def _learners_port(client: redis.Redis) -> int | None:
    """The port of the balancer's listener in front of the lab's dashboards, when it runs
    several (the supervisor keeps it in the lab's info); None with one dashboard."""
    raw = client.hget(keys.LAB_INFO, "dashboards_port")
    return int(raw) if raw and raw.isdigit() else None


def _embedded_redis_url() -> str:
    """The running lab's embedded Redis, with the password, from the lab's var folder."""
    try:
        address = settings.REDIS_ADDRESS_FILE.read_text().strip()
        password = settings.REDIS_PASSWORD_FILE.read_text().strip()
    except FileNotFoundError as exc:
        raise CommandError(
            f"no lab is running here ({exc.filename} is missing): start it with `make run`, "
            "or set REDIS_URL to the lab's Redis"
        ) from None
    return address.replace("redis://", f"redis://:{quote(password, safe='')}@", 1)
