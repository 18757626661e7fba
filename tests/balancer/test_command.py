"""`manage.py balancer` called in this process: what it refuses before it serves."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from archviz.core.ports import free_port

HOST = "127.0.0.1"


def test_a_taken_port_is_a_one_line_error_naming_the_setting(listening_port: int) -> None:
    """A port in use stops the balancer at once, saying which setting to change."""
    with pytest.raises(CommandError, match="ARCHVIZ_LB_PORT") as refused:
        call_command("balancer", port=listening_port, host=HOST, gateway_port=free_port(HOST))
    assert f"port {listening_port} on {HOST} is already in use" in str(refused.value)


def test_a_taken_gateway_port_is_an_error_naming_its_setting(listening_port: int) -> None:
    """The gateway listener's port is checked before anything starts, too."""
    with pytest.raises(CommandError, match="ARCHVIZ_GATEWAY_PORT") as refused:
        call_command("balancer", port=free_port(HOST), host=HOST, gateway_port=listening_port)
    assert f"port {listening_port} on {HOST} is already in use" in str(refused.value)


def test_the_two_listeners_cannot_share_a_port() -> None:
    """One port for both listeners is refused, naming both settings."""
    port = free_port(HOST)
    with pytest.raises(CommandError, match="ARCHVIZ_GATEWAY_PORT and ARCHVIZ_LB_PORT are both"):
        call_command("balancer", port=port, host=HOST, gateway_port=port)


def test_the_services_listener_needs_a_port_of_its_own(listening_port: int) -> None:
    """Taken, or the gateway's: refused naming ARCHVIZ_SERVICES_PORT."""
    port, gateway = free_port(HOST), free_port(HOST)
    with pytest.raises(CommandError, match="ARCHVIZ_SERVICES_PORT and ARCHVIZ_GATEWAY_PORT"):
        call_command("balancer", port=port, host=HOST, gateway_port=gateway, services_port=gateway)
    with pytest.raises(CommandError, match="ARCHVIZ_SERVICES_PORT") as refused:
        call_command(
            "balancer", port=port, host=HOST, gateway_port=gateway, services_port=listening_port
        )
    assert f"port {listening_port} on {HOST} is already in use" in str(refused.value)


def test_without_redis_it_stops_naming_redis_url(no_redis_url: None) -> None:
    """No REDIS_URL: the balancer says how to get one instead of failing later."""
    with pytest.raises(CommandError, match="REDIS_URL is not set"):
        call_command("balancer", port=free_port(HOST), host=HOST, gateway_port=0)


@pytest.mark.parametrize("option", ["--backend-timeout", "--idle-timeout"])
@pytest.mark.parametrize("value", ["0", "-1", "soon"])
def test_a_timeout_must_be_a_positive_number_of_seconds(option: str, value: str) -> None:
    """A zero, negative or non-numeric timeout is refused, naming the option."""
    with pytest.raises(CommandError, match=f"argument {option}: invalid seconds value"):
        call_command("balancer", option, value)
