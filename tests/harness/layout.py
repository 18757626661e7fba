"""What a page's layout does to a reader, measured in a Playwright page: a horizontal scroll,
text too small to read (SVG text at its drawn scale), elements cut off at the viewport's
edge. Each finding names its element (`tag#id.class "text…"`) so a failure reads on its own."""

from playwright.sync_api import Page

MIN_TEXT_PX = 12

_DESCRIBE = """
const describe = (el) => {
  let name = el.tagName.toLowerCase();
  if (el.id) name += "#" + el.id;
  const cls = typeof el.className === "string" ? el.className : el.getAttribute("class") || "";
  for (const c of cls.split(/\\s+/).filter(Boolean).slice(0, 3)) name += "." + c;
  if (!el.id) {
    const up = el.parentElement && el.parentElement.closest("[id]");
    if (up) name = "#" + up.id + " " + name;
  }
  const text = (el.textContent || el.value || "").replace(/\\s+/g, " ").trim().slice(0, 40);
  return text ? `${name} "${text}"` : name;
};
const shown = (el) => {
  const rects = el.getClientRects();
  if (!rects.length) return false;
  const box = el.getBoundingClientRect();
  if (box.width <= 1 || box.height <= 1) return false;  // a visually-hidden (sr-only) element
  const style = getComputedStyle(el);
  return style.visibility !== "hidden" && style.opacity !== "0";
};
const scrolledInside = (el) => {
  for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
    const overflow = getComputedStyle(up).overflowX;
    if (overflow === "auto" || overflow === "scroll") return true;
  }
  return false;
};
"""

_SMALL_TEXT = (
    "(minPx) => {"
    + _DESCRIBE
    + """
  const ownText = (el) => [...el.childNodes].some(
    (n) => n.nodeType === Node.TEXT_NODE && n.textContent.trim());
  const svgScale = (el) => {
    if (!(el instanceof SVGGraphicsElement)) return 1;
    const m = el.getScreenCTM();
    return m ? Math.sqrt(Math.abs(m.a * m.d - m.b * m.c)) : 1;
  };
  const found = [];
  for (const el of document.querySelectorAll("body *")) {
    const control = el.matches("input:not([type=hidden]), select, textarea");
    if (!(control || ownText(el)) || el.closest("script, style, noscript") || !shown(el)) continue;
    const px = parseFloat(getComputedStyle(el).fontSize) * svgScale(el);
    if (px < minPx - 0.01) found.push(`${describe(el)}: ${px.toFixed(1)} px`);
  }
  return found;
}"""
)

_CUT_OFF = (
    "() => {"
    + _DESCRIBE
    + """
  const clippingSvg = (el) => {  // the <svg> that clips a text of its picture
    if (!(el instanceof SVGTextContentElement) || !el.ownerSVGElement) return null;
    let svg = el.ownerSVGElement;
    while (svg.ownerSVGElement) svg = svg.ownerSVGElement;
    return getComputedStyle(svg).overflow === "visible" ? null : svg;
  };
  const width = document.documentElement.clientWidth;
  const found = [];
  const outside = new Set();
  for (const el of document.querySelectorAll("body *")) {
    if (el.closest("script, style, noscript") || !shown(el)) continue;
    const box = el.getBoundingClientRect();
    if (box.right <= 0) continue;  // wholly off to the left: kept out of sight on purpose
    const picture = clippingSvg(el);
    if (picture) {
      const edge = picture.getBoundingClientRect();
      if (box.left < edge.left - 1 || box.right > edge.right + 1) {
        outside.add(el);
        if (outside.has(el.parentElement)) continue;
        found.push(`${describe(el)}: ${Math.round(box.left)}..${Math.round(box.right)} px, `
          + `outside its picture's ${Math.round(edge.left)}..${Math.round(edge.right)}`);
        continue;
      }
    }
    if (box.right <= width + 1 && box.left >= -1) continue;
    if (scrolledInside(el)) continue;  // reachable by scrolling its own box
    outside.add(el);
    if (el.parentElement && outside.has(el.parentElement)) continue;  // name the outermost
    found.push(`${describe(el)}: ${Math.round(box.left)}..${Math.round(box.right)} px of ${width}`);
  }
  return found;
}"""
)


def horizontal_scroll(page: Page) -> int:
    """How many pixels wider than the viewport the document is (0: no horizontal scroll)."""
    return page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )


def small_text(page: Page, min_px: float = MIN_TEXT_PX) -> list[str]:
    """Visible text (HTML, form fields, SVG <text> at its drawn scale) smaller than min_px."""
    return page.evaluate(_SMALL_TEXT, min_px)


def cut_off(page: Page) -> list[str]:
    """Visible elements reaching past the viewport's left or right edge, outermost only, and
    SVG text reaching past the edge of the picture that clips it;
        an element inside a box that scrolls sideways is reachable, and one wholly off to the left
    is hidden on purpose (as Plotly's measuring SVG is), so neither is counted."""
    return page.evaluate(_CUT_OFF)
