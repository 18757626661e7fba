"""redacted: a Redis URL fit to print, its password hidden wherever it was."""

import pytest

from archviz.core.redis_conn import redacted


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("redis://:s3cret@10.0.0.5:6379/0", "redis://:***@10.0.0.5:6379/0"),
        (
            "rediss://teacher:p%40ss@redis.example:6380/1",
            "rediss://teacher:***@redis.example:6380/1",
        ),
        ("unix:///run/redis.sock?password=s3cret&db=2", "unix:///run/redis.sock?password=***&db=2"),
    ],
)
def test_the_password_is_replaced_and_the_rest_kept(url: str, shown: str) -> None:
    """In the user part or in ?password=, the secret becomes ***; host, port and db stay."""
    assert redacted(url) == shown
