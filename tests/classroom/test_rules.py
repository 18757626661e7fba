"""The class's pure rules: codes, names, where a tab may be sent, the roster and the tally."""

import pytest

from archviz.classroom import rules


def test_new_codes_use_no_look_alike_characters() -> None:
    """A code has 6 characters, none of 0 O 1 I L 2 Z 5 S 8 B."""
    for _ in range(200):
        code = rules.new_code()
        assert len(code) == 6 and not set(code) & set("0O1IL2Z5S8B")


def test_a_code_typed_on_a_phone_is_read_in_any_case_with_spaces() -> None:
    assert rules.normalise_code(" acd-347 ") == "ACD347"


@pytest.mark.parametrize("typed", ["", "ACD34", "ACD3477", "ACD34O", "<script>"])
def test_a_malformed_code_is_refused_in_words(typed: str) -> None:
    with pytest.raises(rules.BadInput, match="6 letters and digits"):
        rules.normalise_code(typed)


def test_names_are_trimmed_and_checked() -> None:
    assert rules.display_name("  Ada   Lovelace ") == "Ada Lovelace"
    for bad, says in [
        ("   ", "type the name"),
        ("x" * 41, "at most 40"),
        ("a\x00b", "punctuation"),
    ]:
        with pytest.raises(rules.BadInput, match=says):
            rules.display_name(bad)


def test_where_accepts_a_lab_page_and_a_lesson_step() -> None:
    assert rules.where("/lb/", "load-balancer", 2) == {
        "path": "/lb/",
        "lesson": "load-balancer",
        "step": 2,
    }
    assert rules.where("/", None, None) == {"path": "/", "lesson": None, "step": None}


@pytest.mark.parametrize(
    ("path", "lesson", "step"),
    [("https://evil.example/", None, None), ("//evil.example/", None, None), ("/lb", None, None),
     ("/lb/", "../x", 1), ("/lb/", "load-balancer", -1), ("/lb/", "load-balancer", True),
     ("/lb/", "load-balancer", "2"), (3, None, None), ("/class/", None, None),
     ("/accounts/login/", None, None), ("/admin/", None, None)],
)  # fmt: skip
def test_where_refuses_other_sites_and_bad_steps(path, lesson, step) -> None:
    with pytest.raises(rules.BadInput):
        rules.where(path, lesson, step)


def test_a_highlight_is_an_element_id_only() -> None:
    assert rules.highlight("lb-picture") == "lb-picture"
    assert rules.highlight(None) is None
    for bad in ["#x", "a b", "x" * 65, "1abc", 3]:
        with pytest.raises(rules.BadInput):
            rules.highlight(bad)


def test_roster_says_who_follows_who_is_free_and_who_dropped() -> None:
    names = {"a": "Ada", "b": "Bob", "c": "Cy", "d": "Di"}
    seen = {"a": {"mode": "follow", "ms": 10_000}, "b": {"mode": "free", "ms": 9_000},
            "c": {"mode": "follow", "ms": 10_000 - rules.DROPPED_AFTER_MS - 1}}  # fmt: skip
    assert rules.roster(names, seen, 10_000) == [
        {"name": "Cy", "state": "dropped"}, {"name": "Di", "state": "dropped"},
        {"name": "Ada", "state": "following"}, {"name": "Bob", "state": "free"},
    ]  # fmt: skip


def test_tally_counts_each_choice_and_ignores_out_of_range() -> None:
    assert rules.tally(["x", "y", "z"], [0, 2, 2, 5, -1]) == [1, 0, 2]
