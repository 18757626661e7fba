"""Strict environment helpers: bad values stop start-up naming the variable."""

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from archviz.conf import (
    env_bool,
    env_buffer_limit,
    env_choice,
    env_int,
    env_port,
    env_redis_url,
    env_str,
)
from archviz.settings import LOG_LEVELS

ROOT = Path(__file__).resolve().parent.parent

VAR = "ARCHVIZ_TEST_VALUE"


def test_unset_variables_give_defaults(monkeypatch: pytest.MonkeyPatch):
    """Each helper returns its default when the variable is unset."""
    monkeypatch.delenv(VAR, raising=False)
    assert env_str(VAR, "hello") == "hello"
    assert env_bool(VAR, True) is True
    assert env_int(VAR, 7, minimum=0, maximum=10) == 7
    assert env_port(VAR, 8000) == 8000
    assert env_redis_url(VAR) is None


def test_str_returns_the_text(monkeypatch: pytest.MonkeyPatch):
    """env_str returns the variable's text as set."""
    monkeypatch.setenv(VAR, " spaced ")
    assert env_str(VAR, "x") == " spaced "


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1", True), ("TRUE", True), (" yes ", True), ("on", True), ("0", False), ("off", False),
     ("No", False), ("", False)],
)  # fmt: skip
def test_bool_accepts_yes_no_words(monkeypatch: pytest.MonkeyPatch, raw: str, expected: bool):
    """1/0, true/false, yes/no, on/off in any case are understood."""
    monkeypatch.setenv(VAR, raw)
    assert env_bool(VAR, not expected) is expected


def test_bad_bool_names_the_variable(monkeypatch: pytest.MonkeyPatch):
    """An unknown flag value is refused with the variable's name."""
    monkeypatch.setenv(VAR, "maybe")
    with pytest.raises(ImproperlyConfigured, match=f"{VAR}='maybe' is not a yes/no"):
        env_bool(VAR, False)


def test_int_parses_within_range(monkeypatch: pytest.MonkeyPatch):
    """A whole number in range is returned, including the bounds."""
    for raw, expected in ((" 5 ", 5), ("0", 0), ("10", 10)):
        monkeypatch.setenv(VAR, raw)
        assert env_int(VAR, 1, minimum=0, maximum=10) == expected


@pytest.mark.parametrize("raw", ["five", "5.0", "", "0x10"])
def test_bad_int_names_the_variable(monkeypatch: pytest.MonkeyPatch, raw: str):
    """A value that is not a whole number is refused with the variable's name."""
    monkeypatch.setenv(VAR, raw)
    with pytest.raises(ImproperlyConfigured, match=f"{VAR}=.* is not a whole number"):
        env_int(VAR, 1, minimum=0, maximum=10)


@pytest.mark.parametrize("raw", ["-1", "11"])
def test_int_out_of_range_names_the_variable_and_range(monkeypatch: pytest.MonkeyPatch, raw: str):
    """A number outside [minimum, maximum] is refused, naming both."""
    monkeypatch.setenv(VAR, raw)
    with pytest.raises(ImproperlyConfigured, match=rf"{VAR}={raw} is out of range \(0\.\.10\)"):
        env_int(VAR, 1, minimum=0, maximum=10)


@pytest.mark.parametrize("raw", ["65536", "-1", "http"])
def test_bad_port_names_the_variable(monkeypatch: pytest.MonkeyPatch, raw: str):
    """Ports outside 0..65535 or not numbers are refused."""
    monkeypatch.setenv(VAR, raw)
    with pytest.raises(ImproperlyConfigured, match=VAR):
        env_port(VAR, 8000)


def test_port_zero_and_max_are_accepted(monkeypatch: pytest.MonkeyPatch):
    """0 (pick a free port) and 65535 are valid ports."""
    for raw in ("0", "65535"):
        monkeypatch.setenv(VAR, raw)
        assert env_port(VAR, 8000) == int(raw)


@pytest.mark.parametrize(
    "raw", ["redis://localhost:6379/0", "rediss://cache.example:6380/1", "unix:///tmp/r.sock"]
)
def test_redis_url_accepts_redis_schemes(monkeypatch: pytest.MonkeyPatch, raw: str):
    """redis://, rediss:// and unix:// URLs are returned as given."""
    monkeypatch.setenv(VAR, f"  {raw} ")
    assert env_redis_url(VAR) == raw


def test_blank_redis_url_means_embedded(monkeypatch: pytest.MonkeyPatch):
    """An empty or blank value means: use the embedded Redis."""
    monkeypatch.setenv(VAR, "   ")
    assert env_redis_url(VAR) is None


@pytest.mark.parametrize("raw", ["http://localhost:6379", "localhost:6379", "redis:/x"])
def test_bad_redis_url_names_the_variable(monkeypatch: pytest.MonkeyPatch, raw: str):
    """A value that is not a Redis URL is refused with the variable's name."""
    monkeypatch.setenv(VAR, raw)
    with pytest.raises(ImproperlyConfigured, match=f"{VAR}=.* is not a Redis URL"):
        env_redis_url(VAR)


def test_redis_url_defaults_to_the_redis_url_variable(monkeypatch: pytest.MonkeyPatch):
    """Without a name, REDIS_URL is read."""
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6390/2")
    assert env_redis_url() == "redis://127.0.0.1:6390/2"


def test_choice_returns_the_allowed_spelling(monkeypatch: pytest.MonkeyPatch):
    """One of the allowed words, in any case and with spaces, comes back as allowed."""
    monkeypatch.delenv(VAR, raising=False)
    assert env_choice(VAR, "INFO", LOG_LEVELS) == "INFO"
    monkeypatch.setenv(VAR, " debug ")
    assert env_choice(VAR, "INFO", LOG_LEVELS) == "DEBUG"


@pytest.mark.parametrize("raw", ["verbose", "", "10"])
def test_bad_choice_names_the_variable_and_the_allowed_values(
    monkeypatch: pytest.MonkeyPatch, raw: str
):
    """A word outside the allowed ones is refused, naming the variable and listing them."""
    monkeypatch.setenv(VAR, raw)
    allowed = "DEBUG, INFO, WARNING, ERROR or CRITICAL"
    with pytest.raises(ImproperlyConfigured, match=f"{VAR}='{raw}' is not one of {allowed}"):
        env_choice(VAR, "INFO", LOG_LEVELS)


def test_log_level_is_checked_at_start_up(tmp_path: Path):
    """ARCHVIZ_LOG_LEVEL=verbose stops the settings from loading, naming the variable."""
    env = os.environ | {"ARCHVIZ_LOG_LEVEL": "verbose", "ARCHVIZ_VAR_DIR": str(tmp_path),
                        "ARCHVIZ_SECRET_KEY": "test-only"}  # fmt: skip
    started = subprocess.run(
        [sys.executable, "-c", "import archviz.settings"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert started.returncode != 0
    assert "ARCHVIZ_LOG_LEVEL='verbose' is not one of DEBUG, INFO" in started.stderr


def test_every_archviz_variable_the_code_names_is_in_the_readme():
    """Each ARCHVIZ_* name in archviz/ is a row of README's settings table."""
    table = (ROOT / "README.md").read_text().split("## Settings", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", table, re.M))
    named = {
        node.value
        for path in (ROOT / "archviz").rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        and re.fullmatch(r"ARCHVIZ_[A-Z_]+", node.value)
    }  # fmt: skip
    assert named and named <= documented, sorted(named - documented)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("32mb 8mb 60", "32mb 8mb 60"), (" 128kb  0 0 ", "128kb 0 0"), ("1048576 0 0", "1048576 0 0"),
     ("", "")],
)  # fmt: skip
def test_buffer_limit_is_hard_soft_seconds(monkeypatch: pytest.MonkeyPatch, raw: str, expected):
    monkeypatch.setenv(VAR, raw)
    assert env_buffer_limit(VAR, "x") == expected


@pytest.mark.parametrize("raw", ["32mb", "32mb 8mb", "lots 8mb 60", "32mb 8mb 60s", "-1 0 0"])
def test_a_bad_buffer_limit_names_the_variable(monkeypatch: pytest.MonkeyPatch, raw: str):
    monkeypatch.setenv(VAR, raw)
    with pytest.raises(ImproperlyConfigured, match=f"{VAR}=.*<hard> <soft> <soft seconds>"):
        env_buffer_limit(VAR, "")
