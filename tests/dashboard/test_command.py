"""`manage.py dashboard` called in this process: what stops it before it serves."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from archviz.core.ports import free_port


def test_without_redis_it_stops_naming_redis_url(no_redis_url: None) -> None:
    """No REDIS_URL: the dashboard says how to get one instead of failing later."""
    with pytest.raises(CommandError, match="REDIS_URL is not set"):
        call_command("dashboard", port=free_port("127.0.0.1"))


@pytest.mark.usefixtures("component_in_process", "redis_url")
def test_a_taken_port_is_an_error_naming_the_setting(listening_port: int) -> None:
    """A port in use stops the dashboard at once, naming ARCHVIZ_DASHBOARD_PORT."""
    with pytest.raises(CommandError, match="set ARCHVIZ_DASHBOARD_PORT to another port"):
        call_command("dashboard", port=listening_port, host="127.0.0.1")
