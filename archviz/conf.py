"""Strict helpers that read archviz settings from the environment.

Every value comes from an `ARCHVIZ_*` variable (or `REDIS_URL`); a bad value stops
start-up with a message that names the variable and what it accepts.
"""

import os
import re
import secrets
from collections.abc import Sequence
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str) -> str:
    """The variable's text, or the default when unset."""
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    """A yes/no flag: 1/0, true/false, yes/no, on/off."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a yes/no value (use 1 or 0).")


def env_choice(name: str, default: str, choices: Sequence[str]) -> str:
    """One of a few words, in any case; returned as `choices` spells it."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    for choice in choices:
        if raw.strip().lower() == choice.lower():
            return choice
    allowed = ", ".join(choices[:-1]) + f" or {choices[-1]}"
    raise ImproperlyConfigured(f"{name}={raw!r} is not one of {allowed}.")


def env_int(name: str, default: int, *, minimum: int, maximum: int) -> int:
    """A whole number within [minimum, maximum]."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number.") from None
    if not minimum <= value <= maximum:
        raise ImproperlyConfigured(f"{name}={value} is out of range ({minimum}..{maximum}).")
    return value


_BUFFER_LIMIT = re.compile(r"(\d+(?:[kmg]b?)?) (\d+(?:[kmg]b?)?) (\d+)", re.IGNORECASE)


def env_buffer_limit(name: str, default: str) -> str:
    """A Redis client-output-buffer-limit: "<hard> <soft> <soft seconds>" (e.g. 32mb 8mb 60);
    "" leaves Redis's own."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = " ".join(raw.split())
    if value and not _BUFFER_LIMIT.fullmatch(value):
        raise ImproperlyConfigured(
            f"{name}={raw!r} is not '<hard> <soft> <soft seconds>' (e.g. '32mb 8mb 60')."
        )
    return value


def env_port(name: str, default: int) -> int:
    """A TCP port; 0 means "pick a free one"."""
    return env_int(name, default, minimum=0, maximum=65535)


def env_redis_url(name: str = "REDIS_URL") -> str | None:
    """A redis:// URL, or None to use the embedded Redis that the lab starts."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    if not raw.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured(
            f"{name}={raw!r} is not a Redis URL (expected redis://host:port/db)."
        )
    return raw


def kept_secret(path: Path, nbytes: int) -> str:
    """A random secret generated into `path` on first use (readable by its owner only) and
    read back from there on every later start."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # Created owner-only from the start: never readable by others, even for a moment.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as file:
            file.write(secrets.token_urlsafe(nbytes))
    secret = path.read_text().strip()
    if not secret:
        raise ImproperlyConfigured(f"{path} is empty: delete it, and a new secret is generated.")
    return secret
