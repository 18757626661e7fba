"""The cart's rules: item names, body limits, adding, and the session fingerprint."""

import json

import pytest

from archviz.sessions.cart import (
    MAX_BODY_BYTES,
    MAX_DISTINCT_ITEMS,
    MAX_QUANTITY,
    BadCartRequest,
    add_item,
    cart_of,
    count_items,
    fingerprint,
    parse_item,
)


def _body(obj: object) -> bytes:
    return json.dumps(obj).encode()


@pytest.mark.parametrize("name", ["apple", "Green tea", "café", "7-up", "x" * 30, "  pear  "])
def test_good_item_names_are_accepted_and_trimmed(name: str) -> None:
    """Letters in any script, digits, spaces and hyphens, up to 30 characters, are items."""
    assert parse_item(_body({"item": name})) == name.strip()


@pytest.mark.parametrize(
    ("obj", "says"),
    [
        ({"item": ""}, "1 to 30"),
        ({"item": "x" * 31}, "1 to 30"),
        ({"item": "<img src=x onerror=alert(1)>"}, "only letters"),
        ({"item": "_hidden"}, "only letters"),
        ({"item": 3}, "must be text"),
        ({"thing": "apple"}, '"item"'),
        (["apple"], '"item"'),
    ],
)
def test_bad_item_requests_are_refused_with_a_reason(obj: object, says: str) -> None:
    """Empty, over-long, markup, non-text or missing item names get a 400 naming the rule."""
    with pytest.raises(BadCartRequest) as refused:
        parse_item(_body(obj))
    assert refused.value.status == 400 and says in refused.value.reason


def test_a_body_that_is_not_json_is_refused() -> None:
    """Malformed JSON and invalid UTF-8 get a 400, not a crash."""
    for body in (b"{apple", b"\xff\xfe"):
        with pytest.raises(BadCartRequest) as refused:
            parse_item(body)
        assert refused.value.status == 400


def test_an_oversized_body_is_refused_with_413() -> None:
    """A body over 1 KiB is refused before it is parsed."""
    with pytest.raises(BadCartRequest) as refused:
        parse_item(_body({"item": "a" * MAX_BODY_BYTES}))
    assert refused.value.status == 413


def test_adding_counts_items_and_leaves_the_old_cart_alone() -> None:
    """add_item returns a new cart with one more of the item."""
    cart = {"apple": 1}
    assert add_item(cart, "apple") == {"apple": 2}
    assert add_item(cart, "pear") == {"apple": 1, "pear": 1}
    assert cart == {"apple": 1} and count_items({"apple": 2, "pear": 1}) == 3


def test_a_full_cart_refuses_more_with_409() -> None:
    """At most 20 different items, and 99 of one."""
    full = {f"item {i}": 1 for i in range(MAX_DISTINCT_ITEMS)}
    with pytest.raises(BadCartRequest) as refused:
        add_item(full, "one more")
    assert refused.value.status == 409
    assert add_item(full, "item 0")["item 0"] == 2
    with pytest.raises(BadCartRequest):
        add_item({"apple": MAX_QUANTITY}, "apple")


def test_a_stored_cart_keeps_only_well_formed_entries() -> None:
    """Whatever a session holds, the cart read from it has names and counts only."""
    assert cart_of({"apple": 2, "bad": "3", "zero": 0, "flag": True, 5: 1}) == {"apple": 2}
    assert cart_of(None) == {} and cart_of(["apple"]) == {}


def test_a_fingerprint_names_a_session_without_revealing_its_key() -> None:
    """Eight hex digits of a hash: stable, short, and not the key itself."""
    key = "mapwc5rvb9kcy3bejm4gp5hvhb8l8ggm"
    assert fingerprint(key) == fingerprint(key) and len(fingerprint(key)) == 8
    assert fingerprint(key) not in key and fingerprint(None) is None
