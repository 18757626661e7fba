"""A lesson's Markdown as safe HTML: rendered by markdown-it-py (CommonMark, raw HTML off)
and then sanitised by nh3, so that a lesson file can never put a script on a page."""

import re

import nh3
from markdown_it import MarkdownIt

from archviz.lessons.figures import Figure

_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("table")
_TAGS = {"p", "em", "strong", "code", "pre", "ul", "ol", "li", "a", "br", "blockquote",
         "table", "thead", "tbody", "tr", "th", "td", "h3", "h4"}  # fmt: skip
# {figure} is the figure when the step's wait was met; {start:figure} its value when the step began
PLACEHOLDER = re.compile(r"\{(start:)?([a-z_]+\.[a-z_0-9]+)\}")


def to_html(markdown: str) -> str:
    return nh3.clean(_MARKDOWN.render(markdown), tags=_TAGS, link_rel="noopener noreferrer")


def placeholders(markdown: str) -> set[str]:
    """The figures a text quotes."""
    return {match.group(2) for match in PLACEHOLDER.finditer(markdown)}


def shown(value: Figure) -> str:
    if isinstance(value, float):
        return f"{value:.0f}" if value.is_integer() or abs(value) >= 100 else f"{value:.1f}"
    return str(value)


def fill(markdown: str, measured: dict[str, Figure], at_start: dict[str, Figure]) -> str:
    """The text with every placeholder replaced by the number this run really measured."""

    def value(match: re.Match) -> str:
        source = at_start if match.group(1) else measured
        return shown(source.get(match.group(2), "?"))

    return PLACEHOLDER.sub(value, markdown)
