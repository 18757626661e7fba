"""The component runner in this process, on the real Redis: start, register, stop."""

import asyncio
import json
import os

import pytest
import redis
from django.core.management.base import CommandError

from archviz.core import keys, registry
from archviz.core.runner import component, current_component, run_loop
from archviz.trace import emitter
from tests.harness.wait_for import wait_for

pytestmark = pytest.mark.usefixtures("component_in_process")


def test_without_a_redis_url_it_stops_with_a_command_error_naming_redis_url(
    no_redis_url: None,
) -> None:
    """No REDIS_URL: a CommandError that says how to get one; nothing is started."""
    with pytest.raises(CommandError, match="REDIS_URL is not set"), component("t", "traffic"):
        pytest.fail("the component started without Redis")
    with pytest.raises(RuntimeError, match="runs no component"):
        current_component()
    with pytest.raises(RuntimeError, match="not configured"):
        emitter.get_emitter()


def test_it_is_the_current_component_inside_and_no_longer_after(redis_url: str) -> None:
    """Inside the block this process runs the component; after it, none."""
    with component("consumer-7", "consumer") as running:
        assert current_component() is running
        assert (running.id, running.kind) == ("consumer-7", "consumer")
    with pytest.raises(RuntimeError, match="runs no component"):
        current_component()


def test_it_registers_on_beat_and_deregisters_on_the_way_out(
    redis_client: redis.Redis,
) -> None:
    """beat() writes the registration and metrics; leaving the block removes both."""
    with component("traffic-9", "traffic") as running:
        assert registry.lookup(redis_client, "traffic", "traffic-9") is None  # not before beat
        running.beat(port=8123, host="127.0.0.1")
        found = wait_for(
            lambda: registry.lookup(redis_client, "traffic", "traffic-9"), "the registration"
        )
        assert (found.pid, found.host, found.port, found.status) == (
            os.getpid(),
            "127.0.0.1",
            8123,
            "up",
        )
        metrics = wait_for(lambda: redis_client.get(keys.metrics("traffic-9")), "its metrics")
        assert json.loads(metrics)["rss_bytes"] > 0
    assert registry.lookup(redis_client, "traffic", "traffic-9") is None
    assert redis_client.get(keys.metrics("traffic-9")) is None


def test_its_trace_events_name_it_and_are_published_as_it_stops(
    redis_client: redis.Redis,
) -> None:
    """Events carry trace_as as their source; what is buffered is published on exit."""
    with component("dashboard-8000", "dashboard", trace_as="dashboard") as running:
        sent = running.trace.emit("http.request", "node-1", detail={"path": "/ping"})
    assert sent["src"] == "dashboard"
    logged = [
        event
        for _id, fields in redis_client.xrange(keys.TRACE_LOG)
        for event in json.loads(fields[b"batch"])
    ]
    assert sent in logged


def test_a_component_runs_on_uvloop() -> None:
    """run_loop (every run_async component's, and the balancer's) picks uvloop, installed
    with the project."""
    seen: list[str] = []

    async def main() -> None:
        seen.append(type(asyncio.get_running_loop()).__module__)

    run_loop(main())
    assert seen and seen[0].startswith("uvloop"), seen
