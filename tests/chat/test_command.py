"""`manage.py chatbots` called in this process: what stops it before the bots talk."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError


def test_without_redis_it_stops_naming_redis_url(no_redis_url: None) -> None:
    """No REDIS_URL: the bots' process says how to get one instead of failing later."""
    with pytest.raises(CommandError, match="REDIS_URL is not set"):
        call_command("chatbots")
