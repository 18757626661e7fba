"""`manage.py signin_link`: a fresh one-time sign-in link for the lab running here."""

from urllib.parse import quote

import redis
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from archviz.core import registry, signin_links
from archviz.core.redis_conn import redacted, sync_client
from archviz.lab.supervisor import DASHBOARD_ID


class Command(BaseCommand):
    requires_system_checks: list[str] = []
    help = "Print a one-time link that signs a browser in as the running lab's instructor."

    def handle(self, *args, **options) -> None:
        url = settings.ARCHVIZ_REDIS_URL or _embedded_redis_url()
        client = sync_client(url)
        try:
            dashboard = registry.lookup(client, "dashboard", DASHBOARD_ID)
            if dashboard is None:
                raise CommandError(
                    f"the lab's dashboard is not running (nothing registered in the Redis at "
                    f"{redacted(url)}): start the lab with `make run`"
                )
            token = signin_links.issue(client)
        except redis.RedisError as exc:
            raise CommandError(f"the lab's Redis at {redacted(url)}: {exc}") from exc
        self.stdout.write(
            signin_links.describe(signin_links.url(dashboard.host, dashboard.port, token))
        )


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
