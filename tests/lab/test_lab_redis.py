"""The lab's own embedded Redis, as a real `manage.py lab` starts it: the trust boundary."""

import re
import stat
from collections.abc import Iterator

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.running_lab import RunningLab

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> Iterator[RunningLab]:
    """A whole lab on free ports (this module's own)."""
    running = RunningLab(tmp_path_factory.mktemp("lab")).start()
    yield running
    if running.process.poll() is None:
        running.stop()


def _address(lab: RunningLab) -> tuple[str, int]:
    match = re.search(r"embedded Redis: redis://([\d.]+):(\d+)/0", "\n".join(lab.lines))
    return match.group(1), int(match.group(2))


def _stranger(host: str, port: int) -> redis.Redis:
    """A client without the password, trying once (redis-py retries for seconds by default)."""
    return redis.Redis(host=host, port=port, socket_timeout=2, retry=Retry(NoBackoff(), 0))


def test_the_password_is_generated_into_var_and_never_printed(lab: RunningLab) -> None:
    """var/redis_password exists, owner-only; the lab's output names the file, not the secret."""
    path = lab.var_dir / "redis_password"
    password = path.read_text().strip()
    assert len(password) >= 40
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    output = "\n".join(lab.lines)
    assert password not in output
    assert f"password in {path}" in output


def test_a_client_without_the_password_is_refused(lab: RunningLab) -> None:
    """Without the password nobody can command the lab (no PUBLISH to archviz:control)."""
    client = _stranger(*_address(lab))
    with pytest.raises(redis.AuthenticationError):
        client.publish("archviz:control", '{"type": "kill", "node": "node-1", "by": "x"}')
    assert redis.Redis.from_url(lab.redis_url).ping() is True
