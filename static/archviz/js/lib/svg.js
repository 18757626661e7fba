// Pure SVG and geometry helpers shared by the topology, its boxes and the animator.
const SVG_NS = "http://www.w3.org/2000/svg";

export function setAttributes(el, attrs) {
  for (const [name, value] of Object.entries(attrs)) {
    el.setAttribute(name, String(value));
  }
}

/** Create an SVG element with attributes (set with setAttribute) and append it to parent. */
export function svgElement(tag, attrs = {}, parent = null) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttributes(el, attrs);
  if (parent) {
    parent.appendChild(el);
  }
  return el;
}

export function formatMegabytes(bytes) {
  if (bytes === null || bytes === undefined || bytes <= 0) {
    return "—";
  }
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

export function truncate(text, maxChars) {
  return text.length <= maxChars ? text : `${text.slice(0, Math.max(0, maxChars - 1))}…`;
}

/** Rectangles for `count` node boxes inside `area`: one column up to 4 nodes, then more columns. */
export function nodeGrid(count, area, { maxRows = 4, gap = 12, maxWidth = 260, maxHeight = 104 } = {}) {
  if (count <= 0) {
    return [];
  }
  const cols = Math.ceil(count / maxRows);
  const rows = Math.ceil(count / cols);
  const w = Math.min(maxWidth, (area.w - (cols - 1) * gap) / cols);
  const h = Math.min(maxHeight, (area.h - (rows - 1) * gap) / rows);
  const left = area.x + (area.w - (cols * w + (cols - 1) * gap)) / 2;
  const top = area.y + (area.h - (rows * h + (rows - 1) * gap)) / 2;
  const rects = [];
  for (let i = 0; i < count; i += 1) {
    const col = Math.floor(i / rows);
    const row = i % rows;
    rects.push({ x: left + col * (w + gap), y: top + row * (h + gap), w, h });
  }
  return rects;
}

/** Where the segment from the centre of `from` towards the centre of `to` leaves `from`'s rectangle. */
export function edgePoint(from, to) {
  const cx = from.x + from.w / 2;
  const cy = from.y + from.h / 2;
  const dx = to.x + to.w / 2 - cx;
  const dy = to.y + to.h / 2 - cy;
  if (dx === 0 && dy === 0) {
    return { x: cx, y: cy };
  }
  const t = Math.min(
    dx === 0 ? Infinity : from.w / 2 / Math.abs(dx),
    dy === 0 ? Infinity : from.h / 2 / Math.abs(dy),
  );
  return { x: cx + dx * t, y: cy + dy * t };
}

