"""Checking and picking TCP ports, with errors that name the setting to change."""

import socket

from django.core.management.base import CommandError


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str) -> int:
    """A port nothing listens on right now (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def require_free(host: str, port: int, setting: str) -> None:
    if not port_is_free(host, port):
        raise CommandError(
            f"port {port} on {host} is already in use: stop what uses it, or set {setting} "
            f"to another port (0 picks a free one)."
        )
