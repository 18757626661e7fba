"""The JSON API of a real dashboard: the lab's state, and commands checked on the server."""

import pytest

from tests.harness.clients import log_in, session
from tests.harness.lab import RunningLab

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def users(lab: RunningLab) -> dict[str, str]:
    lab.create_user("ingrid", "instructor-pw-93", instructor=True)
    lab.create_user("lena", "learner-pw-93", instructor=False)
    return {"ingrid": "instructor-pw-93", "lena": "learner-pw-93"}


def test_state_api_describes_redis_and_every_node(lab: RunningLab) -> None:
    """GET /api/lab/state has Redis and the nodes with the documented fields."""
    state = lab.state()
    assert state["redis"]["up"] is True and state["redis"]["used_memory_bytes"] > 0
    for node in state["nodes"]:
        assert {"id", "name", "pid", "port", "status", "connections", "rps", "rss_bytes",
                "started_at"} <= node.keys()  # fmt: skip


async def test_learner_gets_403_and_instructor_can_restart_a_node(lab, users) -> None:
    """The same POST is refused for a learner and carried out for an instructor."""
    before = lab.node("node-3")
    async with session() as learner:
        token = await log_in(learner, lab.url, "lena", users["lena"])
        async with learner.post(
            f"{lab.url}/api/lab/nodes/node-3/restart",
            headers={"X-CSRFToken": token, "Referer": lab.url},
        ) as refused:
            assert refused.status == 403
            assert "only instructors" in (await refused.json())["error"]
    assert lab.node("node-3")["pid"] == before["pid"]

    async with session() as instructor:
        token = await log_in(instructor, lab.url, "ingrid", users["ingrid"])
        headers = {"X-CSRFToken": token, "Referer": lab.url}
        async with instructor.post(f"{lab.url}/api/lab/nodes/node-3/dance", headers=headers) as r:
            assert r.status == 400
        async with instructor.post(f"{lab.url}/api/lab/nodes/node-3/restart", headers=headers) as r:
            assert r.status == 202
    lab.wait_until(
        lambda s: any(
            n["id"] == "node-3" and n["status"] == "up" and n["pid"] != before["pid"]
            for n in s["nodes"]
        ),
        "node-3 restarted by the instructor",
    )


async def test_post_without_csrf_token_is_refused(lab: RunningLab, users) -> None:
    """A logged-in instructor's POST without the CSRF token is refused."""
    async with session() as instructor:
        await log_in(instructor, lab.url, "ingrid", users["ingrid"])
        async with instructor.post(f"{lab.url}/api/lab/nodes/node-1/kill") as r:
            assert r.status == 403
    assert lab.node("node-1")["status"] == "up"
