"""A lesson's Markdown becomes safe HTML, and its reveal quotes the numbers measured."""

from archviz.lessons.narration import fill, placeholders, to_html


def test_markdown_is_rendered() -> None:
    assert to_html("Some **bold** and `code`.") == (
        "<p>Some <strong>bold</strong> and <code>code</code>.</p>\n"
    )


def test_raw_html_and_scripts_never_reach_the_page() -> None:
    markdown = '<script>alert(1)</script>\n\n<img src=x onerror="alert(2)">\n\n[a](javascript:x)'
    html = to_html(markdown)
    assert "<script" not in html and "<img" not in html and "href" not in html
    assert "&lt;script&gt;" in html  # shown as text


def test_links_get_a_safe_rel() -> None:
    assert 'rel="noopener noreferrer"' in to_html("[docs](https://redis.io/)")


def test_a_reveal_quotes_the_measured_and_the_starting_figures() -> None:
    text = "p95 went from {start:traffic.p95_ms} to {traffic.p95_ms} ms; {traffic.ok} ok"
    assert placeholders(text) == {"traffic.p95_ms", "traffic.ok"}
    filled = fill(text, {"traffic.p95_ms": 312.4, "traffic.ok": 40}, {"traffic.p95_ms": 21.26})
    assert filled == "p95 went from 21.3 to 312 ms; 40 ok"


def test_a_figure_not_measured_shows_a_question_mark() -> None:
    assert fill("{traffic.ok}", {}, {}) == "?"
