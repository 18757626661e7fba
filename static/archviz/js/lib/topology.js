// The lab's topology drawn in SVG: one class per box on screen.
// Boxes are created once and updated in place (keyed by component id), so a
// state frame several times a second changes text and attributes, never the DOM shape.
import { componentBoxId } from "./protocol.js";

const SVG_NS = "http://www.w3.org/2000/svg";

function setAttributes(el, attrs) {
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

const ROW_HEIGHT = 16;

/** A labelled box: frame, a coloured status stripe, a title, text rows and a caption below. */
class Box {
  constructor({ parent, id, title, caption = [], captionAbove = false, className = "", rows = 3 }) {
    this.id = id;
    this.captionAbove = captionAbove;
    this.rect = { x: 0, y: 0, w: 0, h: 0 };
    this.group = svgElement("g", { class: `box ${className}`.trim(), "data-component": id }, parent);
    this.tooltip = svgElement("title", {}, this.group);
    this.frame = svgElement("rect", { class: "frame", rx: 8, ry: 8 }, this.group);
    this.stripe = svgElement("rect", { class: "stripe", rx: 2, ry: 2 }, this.group);
    this.title = svgElement("text", { class: "box-title" }, this.group);
    this.title.textContent = title;
    this.rows = [];
    for (let i = 0; i < rows; i += 1) {
      this.rows.push(svgElement("text", { class: "box-row" }, this.group));
    }
    this.captionLines = caption.map((line) => {
      const text = svgElement("text", { class: "box-caption" }, this.group);
      text.textContent = line;
      return text;
    });
    this.tooltip.textContent = `${title}: ${caption.join(" ")}`;
  }

  /** Add a tspan to row `index` and return it. */
  span(index, className = "", text = "") {
    const tspan = svgElement("tspan", className ? { class: className } : {}, this.rows[index]);
    tspan.textContent = text;
    return tspan;
  }

  place(rect) {
    this.rect = rect;
    const { x, y, w, h } = rect;
    setAttributes(this.frame, { x, y, width: w, height: h });
    setAttributes(this.stripe, { x: x + 4, y: y + 6, width: 4, height: h - 12 });
    setAttributes(this.title, { x: x + 16, y: y + 20 });
    this.rows.forEach((row, i) => setAttributes(row, { x: x + 16, y: y + 38 + i * ROW_HEIGHT }));
    const count = this.captionLines.length;
    this.captionLines.forEach((line, i) => {
      const captionY = this.captionAbove ? y - 7 - (count - 1 - i) * 14 : y + h + 15 + i * 14;
      setAttributes(line, { x, y: captionY });
    });
  }

  setTone(tone) {
    if (this.tone !== tone) {
      this.group.classList.remove(`tone-${this.tone}`);
      this.group.classList.add(`tone-${tone}`);
      this.tone = tone;
    }
  }

  flash(ok) {
    this.frame.animate(
      [{ strokeWidth: 5, stroke: ok ? "#16a34a" : "#dc2626" }, { strokeWidth: 1.5 }],
      { duration: 450, easing: "ease-out" },
    );
  }
}

export class SupervisorBox extends Box {
  constructor(parent) {
    super({
      parent,
      id: "supervisor",
      title: "lab supervisor",
      caption: ["the lab process: starts every process,", "restarts crashed ones"],
      className: "supervisor",
      rows: 2,
    });
    this.status = this.span(0, "status-word");
    this.managed = this.span(1);
  }

  update(state) {
    const up = state.supervisor_up;
    this.setTone(up ? "up" : "down");
    this.status.textContent = up ? "running" : "not reporting";
    const count = state.nodes.length;
    this.managed.textContent = `manages ${count} node${count === 1 ? "" : "s"}`;
  }
}

export class DashboardBox extends Box {
  constructor(parent) {
    super({
      parent,
      id: "dashboard",
      title: "dashboard",
      caption: ["Django + daphne: serves this page", "and its WebSocket"],
      captionAbove: true,
      className: "dashboard",
      rows: 3,
    });
    this.processes = this.span(0);
    this.pid = this.span(1, "mono");
    this.port = this.span(2, "mono");
  }

  update(state) {
    const dashboards = state.dashboards || [];
    this.setTone(dashboards.length > 0 ? "up" : "down");
    const count = dashboards.length;
    this.processes.textContent = count === 1 ? "1 process" : `${count} processes`;
    const list = (field) => dashboards.map((d) => d[field] ?? "—").join(", ") || "—";
    this.pid.textContent = truncate(`pid ${list("pid")}`, 24);
    this.port.textContent = truncate(`port ${list("port")}`, 24);
  }
}

export class RedisBox extends Box {
  constructor(parent) {
    super({
      parent,
      id: "redis",
      title: "Redis",
      caption: ["Redis: registry, heartbeats", "and pub/sub"],
      captionAbove: true,
      className: "redis",
      rows: 3,
    });
    this.status = this.span(0, "status-word");
    this.memory = this.span(1);
    this.url = this.span(2, "mono small");
  }

  update(state) {
    const redis = state.redis;
    this.setTone(redis.up ? "up" : "down");
    this.status.textContent = redis.up ? "up" : "unreachable";
    this.memory.textContent = `memory ${formatMegabytes(redis.used_memory_bytes)}`;
    this.url.textContent = truncate(redis.url || "", 28);
  }
}

/** One worker node; a keyboard-focusable button that selects it. */
export class NodeBox extends Box {
  constructor(parent, nodeId, onSelect) {
    super({ parent, id: nodeId, title: nodeId, className: "node", rows: 4 });
    const g = this.group;
    g.setAttribute("data-node-id", nodeId);
    g.setAttribute("role", "button");
    g.setAttribute("tabindex", "0");
    g.setAttribute("aria-pressed", "false");
    this.focusRing = svgElement("rect", { class: "focus-ring", rx: 11, ry: 11 }, g);
    g.insertBefore(this.focusRing, this.frame);
    this.cross = [svgElement("line", { class: "cross" }, g), svgElement("line", { class: "cross" }, g)];
    // data-field marks the values browser tests read.
    const field = (row, name, className = "") => {
      const tspan = this.span(row, className);
      tspan.setAttribute("data-field", name);
      return tspan;
    };
    this.status = field(0, "status", "status-word");
    this.detail = field(0, "detail", "detail");
    this.span(1, "", "pid ");
    this.pid = field(1, "pid", "mono");
    this.portLabel = this.span(1);
    this.port = field(1, "port", "mono");
    this.connections = field(2, "connections");
    this.connectionsLabel = this.span(2);
    this.rps = field(2, "rps");
    this.memory = field(3, "memory");
    this.compact = null;
    this.view = null;
    g.addEventListener("click", () => onSelect(nodeId));
    g.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        onSelect(nodeId);
      }
    });
  }

  place(rect) {
    super.place(rect);
    const { x, y, w, h } = rect;
    setAttributes(this.focusRing, { x: x - 4, y: y - 4, width: w + 8, height: h + 8 });
    setAttributes(this.cross[0], { x1: x + 6, y1: y + 6, x2: x + w - 6, y2: y + h - 6 });
    setAttributes(this.cross[1], { x1: x + w - 6, y1: y + 6, x2: x + 6, y2: y + h - 6 });
    this.compact = w < 180;
    this.group.classList.toggle("compact", this.compact);
    this.portLabel.textContent = this.compact ? " :" : " · port ";
    if (this.view) {
      this.update(this.view);
    }
  }

  update(view) {
    this.view = view;
    const status = view.status;
    this.setTone(status);
    this.group.setAttribute("data-status", status);
    this.group.setAttribute("aria-label", `${view.id}, ${status}`);
    this.title.textContent = view.name && view.name !== view.id ? `${view.id} · ${view.name}` : view.id;
    this.title.textContent = truncate(this.title.textContent, this.compact ? 14 : 30);
    this.status.textContent = status;
    const detail = this.compact ? "" : view.detail || "";
    this.detail.textContent = detail ? ` · ${truncate(detail, 26)}` : "";
    this.pid.textContent = view.pid ?? "—";
    this.port.textContent = view.port ?? "—";
    this.connections.textContent = String(view.connections ?? 0);
    const plural = view.connections === 1 ? "" : "s";
    this.connectionsLabel.textContent = this.compact ? " conn · " : ` connection${plural} · `;
    this.rps.textContent = `${Number(view.rps ?? 0).toFixed(1)} ${this.compact ? "r/s" : "req/s"}`;
    this.memory.textContent = `${this.compact ? "" : "memory "}${formatMegabytes(view.rss_bytes)}`;
    this.tooltip.textContent = `${view.id}: worker node, its own OS process (daphne). ${status}${
      view.detail ? `: ${view.detail}` : ""
    }. Click for details.`;
  }

  setSelected(selected) {
    this.group.classList.toggle("selected", selected);
    this.group.setAttribute("aria-pressed", selected ? "true" : "false");
  }

  remove() {
    this.group.remove();
  }
}

const DEFAULTS = {
  svg: null,
  onSelect: () => {},
  width: 1000,
  height: 530,
  nodeArea: { x: 250, y: 46, w: 500, h: 440 },
  supervisorRect: { x: 20, y: 46, w: 190, h: 74 },
  dashboardRect: { x: 20, y: 226, w: 190, h: 90 },
  redisRect: { x: 790, y: 226, w: 190, h: 90 },
  topLaneY: 12, // supervisor <-> Redis runs above everything
  bottomLaneY: 514, // Redis <-> dashboard runs below the nodes
};

const centre = (r) => ({ x: r.x + r.w / 2, y: r.y + r.h / 2 });

/** The whole picture: fixed boxes for supervisor, dashboard and Redis, one box per node. */
export class Topology {
  constructor(options) {
    this.options = { ...DEFAULTS, ...options };
    const { svg, width, height, nodeArea } = this.options;
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    this.laneLayer = svgElement("g", { class: "lanes", "aria-hidden": "true" }, svg);
    this.edgeLayer = svgElement("g", { class: "edges", "aria-hidden": "true" }, svg);
    this.boxLayer = svgElement("g", { class: "boxes" }, svg);
    this.dotLayer = svgElement("g", { class: "dots", "aria-hidden": "true" }, svg);
    const middle = { x: nodeArea.x + nodeArea.w / 2, "text-anchor": "middle" };
    this.nodeCaption = svgElement("text", { ...middle, class: "area-caption", y: nodeArea.y - 12 }, this.boxLayer);
    this.emptyNote = svgElement("text", { ...middle, class: "empty-note", y: nodeArea.y + nodeArea.h / 2 }, this.boxLayer);
    this.emptyNote.textContent = "no nodes configured: an admin can add some in the Django admin";
    this.supervisor = new SupervisorBox(this.boxLayer);
    this.supervisor.place(this.options.supervisorRect);
    this.dashboard = new DashboardBox(this.boxLayer);
    this.dashboard.place(this.options.dashboardRect);
    this.redis = new RedisBox(this.boxLayer);
    this.redis.place(this.options.redisRect);
    this.nodes = new Map();
    this.nodeOrder = null;
    this.selectedId = null;
    this.drawLanes();
  }

  update(state) {
    this.supervisor.update(state);
    this.dashboard.update(state);
    this.redis.update(state);
    this.syncNodes(state.nodes);
    const count = state.nodes.length;
    this.nodeCaption.textContent =
      count === 0 ? "worker nodes" : `${count} worker node${count === 1 ? "" : "s"}: each its own OS process (daphne)`;
    this.emptyNote.style.display = count === 0 ? "" : "none";
  }

  syncNodes(views) {
    const seen = new Set();
    for (const view of views) {
      seen.add(view.id);
      if (!this.nodes.has(view.id)) {
        const box = new NodeBox(this.boxLayer, view.id, this.options.onSelect);
        box.setSelected(view.id === this.selectedId);
        this.nodes.set(view.id, box);
      }
    }
    for (const [id, box] of this.nodes) {
      if (!seen.has(id)) {
        box.remove();
        this.nodes.delete(id);
      }
    }
    const order = views.map((v) => v.id).join("\n");
    if (order !== this.nodeOrder) {
      this.nodeOrder = order;
      this.relayout(views.map((v) => v.id));
    }
    for (const view of views) {
      this.nodes.get(view.id).update(view);
    }
  }

  relayout(ids) {
    const rects = nodeGrid(ids.length, this.options.nodeArea);
    ids.forEach((id, i) => this.nodes.get(id).place(rects[i]));
    this.edgeLayer.replaceChildren();
    for (const id of ids) {
      for (const other of [this.dashboard, this.redis]) {
        this.drawWire(this.edgeLayer, this.route(other, this.nodes.get(id)));
      }
    }
  }

  /** The two wires that go around the nodes, each labelled with what travels on it. */
  drawLanes() {
    const bottom = this.route(this.redis, this.dashboard);
    this.drawWire(this.laneLayer, bottom, "lane");
    this.laneLabel(bottom, "pub/sub: Redis pushes messages to the dashboard");
    const top = this.route(this.supervisor, this.redis);
    this.drawWire(this.laneLayer, top, "lane");
    this.laneLabel(top, "supervisor ↔ Redis: registry and commands");
  }

  drawWire(layer, points, className = "edge") {
    const attr = points.map((p) => `${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(" ");
    svgElement("polyline", { class: className, points: attr }, layer);
  }

  laneLabel(points, text) {
    const a = points[1];
    const b = points[2];
    const label = svgElement(
      "text",
      { class: "lane-label", x: (a.x + b.x) / 2, y: a.y - 4, "text-anchor": "middle" },
      this.laneLayer,
    );
    label.textContent = text;
  }

  /** The points a message follows from box a to box b. */
  route(a, b) {
    const { bottomLaneY, topLaneY, width } = this.options;
    const pair = new Set([a.id, b.id]);
    if (pair.has("redis") && pair.has("dashboard")) {
      const [r, d] = a.id === "redis" ? [a.rect, b.rect] : [b.rect, a.rect];
      const rx = r.x + r.w / 2;
      const dx = d.x + d.w / 2;
      const points = [
        { x: rx, y: r.y + r.h },
        { x: rx, y: bottomLaneY },
        { x: dx, y: bottomLaneY },
        { x: dx, y: d.y + d.h },
      ];
      return a.id === "redis" ? points : points.reverse();
    }
    if (pair.has("redis") && pair.has("supervisor")) {
      const [s, r] = a.id === "supervisor" ? [a.rect, b.rect] : [b.rect, a.rect];
      const sx = s.x + s.w / 2;
      const rightX = width - 5;
      const points = [
        { x: sx, y: s.y },
        { x: sx, y: topLaneY },
        { x: rightX, y: topLaneY },
        { x: rightX, y: r.y + r.h / 2 },
        { x: r.x + r.w, y: r.y + r.h / 2 },
      ];
      return a.id === "supervisor" ? points : points.reverse();
    }
    return [edgePoint(a.rect, b.rect), edgePoint(b.rect, a.rect)];
  }

  select(nodeId) {
    this.selectedId = nodeId;
    for (const [id, box] of this.nodes) {
      box.setSelected(id === nodeId);
    }
  }

  /** The box drawn for a component id from a trace event, or null when it has none on screen. */
  boxFor(componentId) {
    const id = componentBoxId(componentId);
    if (id === "supervisor") return this.supervisor;
    if (id === "dashboard") return this.dashboard;
    if (id === "redis") return this.redis;
    return this.nodes.get(id) || null;
  }

  /** The path of a dot from src to dst ({points, same}), or null if either has no box. */
  pathBetween(src, dst) {
    const from = this.boxFor(src);
    const to = this.boxFor(dst);
    if (!from || !to) {
      return null;
    }
    if (from === to) {
      return { points: [centre(from.rect)], same: true };
    }
    return { points: this.route(from, to), same: false };
  }

  flash(componentId, ok) {
    const box = this.boxFor(componentId);
    if (box) {
      box.flash(ok);
    }
  }
}
