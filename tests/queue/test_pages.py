"""The queue page as served: where its controls sit in the template."""

from html.parser import HTMLParser

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

VOID = {"br", "img", "input", "meta", "link", "hr", "source", "wbr"}


class _Ancestry(HTMLParser):
    """The ids of the elements around each element that has an id."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, str | None]] = []
        self.around: dict[str, list[str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        own = dict(attrs).get("id")
        if own:
            self.around[own] = [i for _, i in self.stack if i]
        if tag not in VOID:
            self.stack.append((tag, own))

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            if self.stack.pop()[0] == tag:
                break


def _ancestry(html: str) -> dict[str, list[str]]:
    parser = _Ancestry()
    parser.feed(html)
    return parser.around


def test_the_enqueue_button_sits_in_the_picture_it_animates(client: Client) -> None:
    """The "Enqueue 5 jobs" button is in the producers box of the picture, not the side column."""
    around = _ancestry(client.get("/queue/").content.decode())
    assert {"q-panel", "q-frame", "q-producers"} <= set(around["send-jobs"])
    assert "q-producers" in around["send-jobs-note"]
