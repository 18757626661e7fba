"""Names of the lab's children: one pattern, and the next free number."""

from collections.abc import Iterable

from django.core.validators import RegexValidator

child_name = RegexValidator(
    r"^[a-z0-9][a-z0-9-]{0,39}$",
    "Lower-case letters, digits and dashes, starting with a letter or digit (max 40).",
)


def next_numbered_name(prefix: str, names: Iterable[str]) -> str:
    """`<prefix>-N` for N one above the highest number in use ("node-4" after node-3)."""
    numbers = [int(n.rsplit("-", 1)[1]) for n in names if n.rsplit("-", 1)[-1].isdigit()]
    return f"{prefix}-{max(numbers, default=0) + 1}"
