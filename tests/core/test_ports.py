"""Checking and picking TCP ports."""

import socket

import pytest
from django.core.management.base import CommandError

from archviz.core.ports import EPHEMERAL_RANGE, free_port, port_is_free, require_free

HOST = "127.0.0.1"


def test_port_with_a_listener_is_not_free(listening_port: int):
    """port_is_free is False while something listens on the port."""
    assert port_is_free(HOST, listening_port) is False


def test_free_port_is_bindable():
    """free_port returns a port that can be bound and is reported free."""
    port = free_port(HOST)
    assert 0 < port <= 65535
    assert port_is_free(HOST, port) is True
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, port))
        sock.listen()


def test_free_port_is_below_the_ephemeral_range():
    """Outgoing connections take their local ports from the ephemeral range, so a port
    picked there could be taken before its server binds it."""
    first_ephemeral = int(EPHEMERAL_RANGE.read_text().split()[0])
    assert all(free_port(HOST) < first_ephemeral for _ in range(20))


def test_require_free_names_port_and_setting(listening_port: int):
    """require_free raises CommandError naming the busy port and the setting to change."""
    with pytest.raises(CommandError) as excinfo:
        require_free(HOST, listening_port, "ARCHVIZ_NODE_PORT")
    message = str(excinfo.value)
    assert str(listening_port) in message
    assert "ARCHVIZ_NODE_PORT" in message


def test_require_free_passes_for_a_free_port():
    """require_free returns quietly when the port is free."""
    require_free(HOST, free_port(HOST), "ARCHVIZ_NODE_PORT")
