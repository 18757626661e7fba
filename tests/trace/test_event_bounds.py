"""Trace events bound their free text once, in make_event, and say what they cut."""

import json

from archviz.trace.events import (
    CUT_MARK,
    MAX_DETAIL_ITEMS,
    MAX_NAME_CHARS,
    MAX_TEXT_CHARS,
    make_event,
    validate_event,
)


def test_a_long_path_is_cut_and_the_event_says_so():
    """An 8 KiB request path makes an event of a few hundred bytes, naming `path` as cut."""
    path = "/work?" + "a" * 8192
    event = make_event("lb.route", "lb", "node-1", detail={"path": path, "status": 200})
    assert len(event["detail"]["path"]) == MAX_TEXT_CHARS
    assert event["detail"]["path"].endswith(CUT_MARK)
    assert event["detail"]["path"].startswith("/work?aaa")
    assert event["detail"]["cut"] == ["path"]
    assert event["detail"]["status"] == 200
    assert len(json.dumps(event)) < 1024
    assert validate_event(json.loads(json.dumps(event))) == event


def test_text_that_fits_is_kept_whole_and_not_marked():
    """A string of exactly the limit is not cut, and the caller's own dict is the detail."""
    detail = {"reason": "r" * MAX_TEXT_CHARS}
    event = make_event("lb.reject", "lb", "client", detail=detail)
    assert event["detail"] is detail
    assert "cut" not in event["detail"]


def test_the_callers_detail_is_not_changed_when_something_is_cut():
    """The bounded detail is a copy: a caller that keeps its dict still has the whole text."""
    detail = {"error": "e" * 1000}
    make_event("lb.retry", "lb", "node-1", detail=detail)
    assert detail == {"error": "e" * 1000}


def test_nested_text_and_long_lists_are_bounded():
    """Strings at any depth are cut and lists keep their first MAX_DETAIL_ITEMS entries."""
    detail = {
        "settings": {"note": "n" * 1000, "weight": 2},
        "users": [f"u{i}" for i in range(500)],
        "room": "lobby",
    }
    event = make_event("fault.inject", "dashboard", "supervisor", detail=detail)
    assert event["detail"]["settings"] == {"note": "n" * (MAX_TEXT_CHARS - 1) + CUT_MARK,
                                           "weight": 2}  # fmt: skip
    assert event["detail"]["users"] == [f"u{i}" for i in range(MAX_DETAIL_ITEMS)]
    assert sorted(event["detail"]["cut"]) == ["settings", "users"]
    assert event["detail"]["room"] == "lobby"


def test_long_names_are_cut_and_listed():
    """trace, src, dst and demo are ids: each is cut to MAX_NAME_CHARS and named in `cut`."""
    event = make_event("http.request", "x" * 500, "node-1", trace="t" * 500, detail={"a": 1})
    assert len(event["src"]) == len(event["trace"]) == MAX_NAME_CHARS
    assert event["src"].endswith(CUT_MARK)
    assert event["detail"] == {"a": 1, "cut": ["trace", "src"]}
    assert event["dst"] == "node-1"
