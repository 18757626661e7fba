"""`manage.py lab` called in this process: a taken port stops it before anything starts."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

PORTS = [
    "ARCHVIZ_DASHBOARD_PORT",
    "ARCHVIZ_LB_PORT",
    "ARCHVIZ_GATEWAY_PORT",
    "ARCHVIZ_SERVICES_PORT",
    "ARCHVIZ_NODE_PORT",
]


@pytest.mark.parametrize("setting", PORTS)
def test_a_taken_port_stops_the_lab_naming_its_setting(
    settings, listening_port: int, setting: str
) -> None:
    """Each port the lab would listen on is checked first; the error names the setting."""
    for name in PORTS:
        setattr(settings, name, 0)
    setattr(settings, setting, listening_port)
    with pytest.raises(CommandError, match=f"set {setting} to another port") as refused:
        call_command("lab")
    assert f"port {listening_port} on 127.0.0.1 is already in use" in str(refused.value)
