"""`manage.py consumer` called in this process: what stops it before it consumes."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError


def test_without_redis_it_stops_naming_redis_url(no_redis_url: None) -> None:
    """No REDIS_URL: the consumer says how to get one instead of failing later."""
    with pytest.raises(CommandError, match="REDIS_URL is not set"):
        call_command("consumer", id="consumer-1")


def test_its_id_is_required() -> None:
    """A consumer is always started with the id it reads the stream as."""
    with pytest.raises(CommandError, match="the following arguments are required: --id"):
        call_command("consumer")
