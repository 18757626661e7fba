"""The sign-in link of a running lab: `manage.py lab` prints one that works once, and
`manage.py signin_link` makes another; neither reaches the lab's log by a refusal."""

import re

import aiohttp
import pytest

from archviz.core import signin_links
from tests.harness.clients import session
from tests.harness.lab import RunningLab
from tests.harness.processes import run_manage
from tests.harness.wait_for import wait_for

pytestmark = pytest.mark.integration
LINK_LINE = r"sign in as the lab's instructor \(one use, 15 min\): (http://\S+)"


async def _press_the_button(client: aiohttp.ClientSession, link: str) -> aiohttp.ClientResponse:
    """Open the link, then press its button; the answer after redirects."""
    async with client.get(link) as page:
        assert page.status == 200, await page.text()
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', await page.text())[1]
    async with client.post(link, data={"csrfmiddlewaretoken": csrf}) as answer:
        await answer.read()
        return answer


async def test_the_labs_link_signs_the_browser_in_as_instructor_once(lab: RunningLab) -> None:
    """The link printed once the dashboard answers names the dashboard; it signs in the
    instructor "solo", and a second use is refused (410)."""
    link = lab.wait_for_line(LINK_LINE, timeout=5).group(1)
    assert link.startswith(f"{lab.url}{signin_links.PATH}")
    async with session() as client:
        signed_in = await _press_the_button(client, link)
        assert signed_in.status == 200 and signed_in.url.path == "/"
        async with client.get(lab.url + "/lab/") as page:
            text = await page.text()
        assert "Signed in as <strong>solo</strong> · instructor" in text
    async with session() as other:
        again = await _press_the_button(other, link)
        assert again.status == 410


async def test_signin_link_makes_a_fresh_link_for_the_running_lab(lab: RunningLab) -> None:
    """Run beside the lab with no REDIS_URL, the command finds the lab's Redis in its var
    folder. A refused POST (no CSRF cookie) leaves the link working and out of the log."""
    printed = run_manage("signin_link", env=lab.env | {"REDIS_URL": ""})
    link = re.search(LINK_LINE, printed).group(1)
    token = link.rsplit("/", 1)[1]
    async with aiohttp.ClientSession() as stranger, stranger.post(link) as refused:
        assert refused.status == 403
    wait_for(
        lambda: any("Forbidden (CSRF" in line for line in lab.lines),
        "the lab to log the CSRF refusal",
    )
    assert not [line for line in lab.lines if token in line]
    async with session() as client:
        assert (await _press_the_button(client, link)).url.path == "/"
