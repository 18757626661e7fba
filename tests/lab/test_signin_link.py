"""`manage.py signin_link` called in this process, on the session's real Redis."""

import io
import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from archviz.core import keys, registry, signin_links
from archviz.lab.dashboards import DASHBOARD_ID
from archviz.lab.embedded_redis import EmbeddedRedis


def _signin_link() -> str:
    out = io.StringIO()
    call_command("signin_link", stdout=out)
    return out.getvalue()


@pytest.fixture
def dashboard(redis_client) -> registry.Registration:
    """The lab's dashboard, registered (and kept: no heartbeat refreshes it here)."""
    found = registry.Registration(DASHBOARD_ID, "dashboard", 4242, "0.0.0.0", 8123, 0.0)
    registry.register(redis_client, found)
    redis_client.persist(keys.registry("dashboard", DASHBOARD_ID))
    return found


@pytest.fixture
def lab_var(settings, tmp_path, redis_server: EmbeddedRedis, redis_url) -> None:
    """No REDIS_URL; the lab's var folder says where its embedded Redis is, as `lab` writes."""
    settings.ARCHVIZ_REDIS_URL = None
    settings.REDIS_ADDRESS_FILE = tmp_path / "redis_address"
    settings.REDIS_PASSWORD_FILE = tmp_path / "redis_password"
    settings.REDIS_ADDRESS_FILE.write_text(redis_server.address_url + "\n")
    settings.REDIS_PASSWORD_FILE.write_text(redis_server.password + "\n")


def test_it_prints_a_link_to_the_dashboard_that_redeems(lab_var, dashboard, redis_client) -> None:
    """Found through the var folder; a wildcard host is printed as loopback."""
    printed = _signin_link()
    link = re.fullmatch(
        r"sign in as the lab's instructor \(one use, 15 min\): (\S+)\n", printed
    ).group(1)
    assert link.startswith(f"http://127.0.0.1:8123{signin_links.PATH}")
    assert signin_links.redeem(redis_client, link.rsplit("/", 1)[1])


def test_without_a_running_dashboard_it_says_so(lab_var) -> None:
    with pytest.raises(CommandError, match="the lab's dashboard is not running"):
        _signin_link()


def test_without_a_lab_it_says_how_to_start_one(settings, tmp_path) -> None:
    settings.ARCHVIZ_REDIS_URL = None
    settings.REDIS_ADDRESS_FILE = tmp_path / "redis_address"
    with pytest.raises(CommandError, match=r"no lab is running here .*start it with `make run`"):
        _signin_link()


def test_with_several_dashboards_the_link_is_the_listeners(lab_var, redis_client) -> None:
    """ARCHVIZ_DASHBOARDS > 1: learners and the instructor use the balancer's listener, whose
    port the supervisor keeps in the lab's info, not a dashboard's own."""
    first = registry.Registration("dashboard-1", "dashboard", 4243, "127.0.0.1", 9001, 0.0)
    registry.register(redis_client, first)
    redis_client.persist(keys.registry("dashboard", "dashboard-1"))
    redis_client.hset(keys.LAB_INFO, "dashboards_port", 8000)
    link = _signin_link().rsplit(" ", 1)[1].strip()
    assert link.startswith(f"http://127.0.0.1:8000{signin_links.PATH}")
