"""kept_secret: a secret generated once into var/, owner-only, and the same on every start."""

import stat
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from archviz.conf import kept_secret


def test_the_secret_is_generated_once_owner_only_and_kept(tmp_path: Path) -> None:
    """The first call writes a random secret (mode 0600); later calls read the same one."""
    path = tmp_path / "var" / "redis_password"
    first = kept_secret(path, 32)
    assert len(first) >= 40
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert kept_secret(path, 32) == first
    assert kept_secret(tmp_path / "other", 32) != first


def test_an_empty_secret_file_is_an_error_naming_it(tmp_path: Path) -> None:
    """An empty file (a failed first write) is refused, saying which file to delete."""
    path = tmp_path / "redis_password"
    path.write_text("\n")
    with pytest.raises(ImproperlyConfigured, match="redis_password is empty"):
        kept_secret(path, 32)
