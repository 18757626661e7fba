"""The cart's rules: what a request may put in it and how it changes (pure)."""

import hashlib
import json
import re

CART_KEY = "cart"  # the cart's key inside the Django session
MAX_BODY_BYTES = 1024
MAX_DISTINCT_ITEMS = 20
MAX_QUANTITY = 99
ITEM_NAME_MAX = 30
# Letters (any script), digits, spaces and hyphens; starts with a letter or digit.
ITEM_NAME = re.compile(r"[^\W_][\w \-]*", re.UNICODE)

Cart = dict[str, int]


class BadCartRequest(ValueError):
    """A cart request the node refuses; `status` is the HTTP status to answer with."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


def parse_item(body: bytes) -> str:
    """The item name in a JSON body {"item": "..."}, or BadCartRequest saying what is wrong."""
    if len(body) > MAX_BODY_BYTES:
        raise BadCartRequest(f"request body over {MAX_BODY_BYTES} bytes", 413)
    try:
        obj = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BadCartRequest('the body must be JSON like {"item": "apple"}') from None
    if not isinstance(obj, dict) or "item" not in obj:
        raise BadCartRequest('the body must be a JSON object with an "item"')
    return validate_item_name(obj["item"])


def validate_item_name(name: object) -> str:
    if not isinstance(name, str):
        raise BadCartRequest("the item name must be text")
    name = name.strip()
    if not 1 <= len(name) <= ITEM_NAME_MAX:
        raise BadCartRequest(f"the item name must be 1 to {ITEM_NAME_MAX} characters")
    if not ITEM_NAME.fullmatch(name):
        raise BadCartRequest("the item name may hold only letters, digits, spaces and hyphens")
    return name


def cart_of(data: object) -> Cart:
    """The cart kept in a session, keeping only well-formed entries."""
    if not isinstance(data, dict):
        return {}
    return {
        k: v
        for k, v in data.items()
        if isinstance(k, str) and type(v) is int and 1 <= v <= MAX_QUANTITY
    }


def add_item(cart: Cart, item: str) -> Cart:
    """A new cart with one more of `item`; BadCartRequest when the cart is full."""
    if item not in cart and len(cart) >= MAX_DISTINCT_ITEMS:
        raise BadCartRequest(f"the cart holds at most {MAX_DISTINCT_ITEMS} different items", 409)
    if cart.get(item, 0) >= MAX_QUANTITY:
        raise BadCartRequest(f"at most {MAX_QUANTITY} of one item", 409)
    return cart | {item: cart.get(item, 0) + 1}


def count_items(cart: Cart) -> int:
    return sum(cart.values())


def fingerprint(session_key: str | None) -> str | None:
    """A short, one-way name for a session: shows which session without revealing its key."""
    if not session_key:
        return None
    return hashlib.sha256(session_key.encode()).hexdigest()[:8]
