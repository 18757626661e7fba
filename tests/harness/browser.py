"""Logging a Playwright page in through the lab's real login form."""

import re

from playwright.sync_api import Page


def log_in(page: Page, base_url: str, user: str, password: str, next_path: str = "/") -> None:
    """Submit the login form as `user`; return once the page has landed on `next_path`."""
    page.goto(f"{base_url}/accounts/login/?next={next_path}")
    page.fill('input[name="username"]', user)
    page.fill('input[name="password"]', password)
    page.locator('form button[type="submit"], form input[type="submit"]').first.click()
    page.wait_for_url(re.compile(re.escape(next_path) + "$"))
