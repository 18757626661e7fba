"""Checking and picking TCP ports, with errors that name the setting to change."""

import random
import socket
from pathlib import Path

from django.core.management.base import CommandError

EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_PICKS = 100  # random tries below the ephemeral range before asking the kernel
_BELOW_EPHEMERAL = 20_000  # how far below the ephemeral range a port is picked
# Connections the kernel completes for a listener before it accepts them. asyncio's default
# is 100 and Twisted's 50: a reconnect storm (a shed's 1,000 clients) overflows those, and a
# client whose SYN was dropped retries 1 s, then 3 s later (bench.overload's storm showed
# handshakes of 3.3 s). The kernel caps it at net.core.somaxconn.
LISTEN_BACKLOG = 1024


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str) -> int:
    """A port nothing uses right now, picked below the kernel's ephemeral range.

    A port from that range (what binding port 0 gives) may become the local end of some
    outgoing connection before its process binds it, and the lab opens many connections:
    the process then finds its port taken. Outside that range only another listener can
    take it.
    """
    first = _first_ephemeral_port()
    below = range(max(1024, first - _BELOW_EPHEMERAL), first)
    for port in random.sample(below, min(_PICKS, len(below))):
        if port_is_free(host, port):
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:  # the kernel's choice
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _first_ephemeral_port() -> int:
    try:
        return int(EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def require_free(host: str, port: int, setting: str) -> None:
    if not port_is_free(host, port):
        raise CommandError(
            f"port {port} on {host} is already in use: stop what uses it, or set {setting} "
            f"to another port (0 picks a free one)."
        )
