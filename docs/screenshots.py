"""`make screenshots`: the README's pictures, made from a real run. It starts a lab of its own
(free ports, a temporary var dir), signs in with the link the lab prints, runs the first step
of a lesson per area in headless Chromium, and saves what the page shows to docs/images/.

Needs the system Chromium (`apt-get install chromium`), as the browser tests do."""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "docs" / "images"
# (lesson, steps to run, what the learner clicks until a step is seen, or None): one per area
# of the course, in its order; the sessions lesson waits for the learner's own cart requests
SHOTS = [("load-balancer", 2, None), ("chat-missed", 2, None), ("sessions", 1, ".shop-item"),
         ("overload", 1, None), ("queue-vs-lb", 1, None), ("gateway", 1, None)]  # fmt: skip
CLICKS = 40  # at most, a second apart: in-process sessions lose the cart within a few
RUN = re.compile(r"^(Set up the lab and run this step|Run this step|Watch for it)$")


def _chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        if path := shutil.which(name):
            return path
    sys.exit("no system Chromium: apt-get install chromium")


class Lab:
    """`manage.py lab` on free ports, its output read line by line."""

    def __init__(self, var_dir: str) -> None:
        env = os.environ | {"ARCHVIZ_VAR_DIR": var_dir, "ARCHVIZ_DASHBOARD_PORT": "0",
                            "ARCHVIZ_NODE_PORT": "0", "ARCHVIZ_LB_PORT": "0",
                            "ARCHVIZ_GATEWAY_PORT": "0"}  # fmt: skip
        env.pop("REDIS_URL", None)
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "lab"], cwd=ROOT, env=env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        self.lines: list[str] = []
        self.seen = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            with self.seen:
                self.lines.append(line)
                self.seen.notify_all()

    def wait_for(self, pattern: str, timeout: float = 90) -> re.Match:
        def found() -> re.Match | None:
            return next(filter(None, (re.search(pattern, line) for line in self.lines)), None)

        with self.seen:
            self.seen.wait_for(lambda: found() or self.process.poll() is not None, timeout)
            if match := found():
                return match
        sys.exit(f"the lab did not print {pattern!r}:\n{''.join(self.lines[-30:])}")

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGINT)
        self.process.wait(timeout=30)


def main() -> None:
    IMAGES.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="archviz-shots-") as var_dir:
        lab = Lab(var_dir)
        try:
            link = lab.wait_for(r"(http://\S+/accounts/solo/\S+)").group(1)
            base = link.split("/accounts/")[0]
            lab.wait_for(r"lb: node-3 is healthy")
            _shoot(base, link)
        finally:
            lab.stop()


def _click_until_seen(page, selector: str) -> None:
    """Play the learner: click the page's buttons in turn until the step is seen."""
    buttons = page.locator(f"{selector}:enabled")
    expect(buttons.first).to_be_visible(timeout=30_000)
    for i in range(CLICKS):
        if page.locator("#lesson-panel .lesson-next").is_visible():
            return
        buttons.nth(i % buttons.count()).click()
        page.wait_for_timeout(1000)


def _shoot(base: str, link: str) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=_chromium(), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        page.set_default_timeout(90_000)  # a page with Plotly loads slowly on a busy machine
        page.goto(link)
        page.get_by_role("button", name="Sign in as the lab's instructor").click()
        expect(page.locator(".site-user")).to_contain_text("instructor")
        page.screenshot(path=IMAGES / "course.png")
        for slug, steps, clicks in SHOTS:
            page.goto(f"{base}/lessons/{slug}/")
            panel = page.locator("#lesson-panel")
            for step in range(steps):
                if step:
                    panel.get_by_role("button", name=re.compile("^Next step")).click()
                panel.get_by_role("button", name=RUN).click()
                expect(panel.locator(".lesson-reveal, .lesson-next")).not_to_have_count(0)
                if clicks:
                    _click_until_seen(page, clicks)
                expect(panel.locator(".lesson-next")).to_be_visible(timeout=90_000)
            page.wait_for_timeout(1500)  # the picture draws the step's last messages
            if clicks:  # the learner's own requests and what they did: the picture beside them
                page.locator(clicks).first.evaluate("(el) => el.scrollIntoView({block: 'center'})")
            page.screenshot(path=IMAGES / f"{slug}.png")
            print(f"docs/images/{slug}.png")
        browser.close()


if __name__ == "__main__":
    main()
