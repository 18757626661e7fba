"""The Redis box on the lab page: learners see that it is up and its memory, instructors also
where it is, and nobody its password."""

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.harness.lab import RunningLab

pytestmark = [pytest.mark.browser, pytest.mark.integration]


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> Iterator[RunningLab]:
    """A lab of this module's own; the Redis box needs no node to be up."""
    running = RunningLab(tmp_path_factory.mktemp("lab")).start()
    try:
        yield running
    finally:
        running.process.close(timeout=15)


def _redis_address(lab: RunningLab) -> str:
    return re.search(r"embedded Redis: redis://(\S+?)/0", "\n".join(lab.lines)).group(1)


def _redis_box(page: Page):
    box = page.locator('[data-component="redis"]')
    expect(page.locator("body")).to_have_attribute("data-ready", "1", timeout=15_000)
    expect(box.locator('[data-field="status"]')).to_have_text("up")
    expect(box.locator('[data-field="memory"]')).to_have_text(re.compile(r"memory \d+(\.\d)? MB"))
    return box


def test_a_learner_sees_up_and_memory_but_not_the_address(page: Page, lab: RunningLab) -> None:
    """No host:port, no redis:// and no password anywhere on a learner's page."""
    page.goto(lab.url + "/lab/")
    box = _redis_box(page)
    expect(box.locator('[data-field="address"]')).to_have_text("")
    html = page.content()
    password = (lab.var_dir / "redis_password").read_text().strip()
    assert _redis_address(lab) not in html and "redis://" not in html and password not in html


def test_an_instructor_sees_where_redis_is(page: Page, lab: RunningLab) -> None:
    """An instructor's Redis box shows host:port; the page still has no password."""
    lab.create_user("rita", "redis-box-instructor-pw", instructor=True)
    page.goto(lab.url + "/accounts/login/?next=/lab/")
    page.fill('input[name="username"]', "rita")
    page.fill('input[name="password"]', "redis-box-instructor-pw")
    page.locator('form button[type="submit"], form input[type="submit"]').first.click()
    box = _redis_box(page)
    expect(box.locator('[data-field="address"]')).to_have_text(_redis_address(lab))
    assert (lab.var_dir / "redis_password").read_text().strip() not in page.content()
