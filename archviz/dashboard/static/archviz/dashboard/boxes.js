// One class per box on screen: created once, then updated in place from each state frame.
import { formatMegabytes, setAttributes, svgElement, truncate } from "../js/lib/svg.js";

const ROW_HEIGHT = 16;

/** A labelled box: frame, a coloured status stripe, a title, text rows and a caption below. */
export class Box {
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
      rows: 3,
    });
    this.status = this.span(0, "status-word");
    this.pid = this.span(1, "mono");
    this.managed = this.span(2);
  }

  update(state) {
    const up = state.supervisor_up;
    this.setTone(up ? "up" : "down");
    this.status.textContent = up ? "running" : "not reporting";
    this.pid.textContent = state.supervisor_pid ? `pid ${state.supervisor_pid}` : "pid —";
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
      rows: 4,
    });
    this.processes = this.span(0);
    this.pid = this.span(1, "mono");
    this.port = this.span(2, "mono");
    this.sockets = this.span(3);
  }

  update(state) {
    const own = (state.processes || []).filter((p) => p.kind === "dashboard").map((p) => p.id);
    this.group.setAttribute("data-process", own.join(" ")); // a space-separated list: ~= matches
    const dashboards = state.dashboards || [];
    this.setTone(dashboards.length > 0 ? "up" : "down");
    const count = dashboards.length;
    this.processes.textContent = count === 1 ? "1 process" : `${count} processes`;
    const list = (field) => dashboards.map((d) => d[field] ?? "—").join(", ") || "—";
    this.pid.textContent = truncate(`pid ${list("pid")}`, 24);
    this.port.textContent = truncate(`port ${list("port")}`, 24);
    this.sockets.textContent = socketsLine(dashboards);
  }
}

/** The lab sockets open on every dashboard, and those closed (4008) for not taking their
 * frames: a tab that stops reading would otherwise make its dashboard hold them all. */
export function socketsLine(dashboards) {
  const sum = (field) => dashboards.reduce((total, d) => total + (d[field] || 0), 0);
  const tabs = sum("sockets");
  const slow = sum("too_slow_closes");
  const open = tabs === 1 ? "1 tab" : `${tabs} tabs`;
  return slow > 0 ? `${open}, ${slow} closed too slow` : open;
}

/** The pub/sub subscribers Redis closed for their output buffer (lab state's
 * redis.output_buffer_closes), after its status; "" while none, or when nothing observes them. */
export function subscribersClosedLine(redis) {
  const n = redis.output_buffer_closes;
  if (!n) return "";
  return ` · ${n} ${n === 1 ? "subscriber" : "subscribers"} closed`;
}

const CLOSED_HINT =
  "pub/sub subscribers Redis closed because they read too slowly: their output buffer passed " +
  "client-output-buffer-limit pubsub, and the messages waiting in it were lost";

/** Redis: up or not and its memory, for everyone; its host:port only when the page was given
 * one (instructors' pages are: the state frames carry no address, and never a password). */
export class RedisBox extends Box {
  constructor(parent, address = "") {
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
    this.closed = this.span(0, "small");
    this.memory = this.span(1);
    this.address = this.span(2, "mono small", truncate(address, 28));
    this.status.setAttribute("data-field", "status");
    this.closed.setAttribute("data-field", "subscribers-closed");
    this.memory.setAttribute("data-field", "memory");
    this.address.setAttribute("data-field", "address");
  }

  update(state) {
    const redis = state.redis;
    this.setTone(redis.up ? "up" : "down");
    this.status.textContent = redis.up ? "up" : "unreachable";
    this.closed.textContent = subscribersClosedLine(redis);
    if (this.closed.textContent) {
      this.tooltip.textContent = `Redis: ${redis.output_buffer_closes} ${CLOSED_HINT}`;
    }
    this.memory.textContent = `memory ${formatMegabytes(redis.used_memory_bytes)}`;
  }
}

/** One worker node; a keyboard-focusable button that selects it. */
export class NodeBox extends Box {
  constructor(parent, nodeId, onSelect) {
    super({ parent, id: nodeId, title: nodeId, className: "node", rows: 4 });
    const g = this.group;
    g.setAttribute("data-node-id", nodeId);
    g.setAttribute("data-process", nodeId);
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
    }. req/s leaves out the balancer's /health checks. Click for details.`;
  }

  setSelected(selected) {
    this.group.classList.toggle("selected", selected);
    this.group.setAttribute("aria-pressed", selected ? "true" : "false");
  }

  remove() {
    this.group.remove();
  }
}


const GROUP_LINE_TOP = 30 + 12; // below the title (layout.js GROUP_TITLE_H), a line's baseline

/** Set `text` on an SVG text element, cut with "…" until it fits `width` as drawn. */
export function fitText(element, text, width) {
  element.textContent = text;
  if (!(width > 0) || typeof element.getComputedTextLength !== "function") return;
  let cut = text.length;
  while (cut > 1 && element.getComputedTextLength() > width) {
    cut -= 1;
    element.textContent = truncate(text, cut);
  }
}

/** One group of the lab's other processes (processes.js processGroups): a box with a line per
 * process, its status as a coloured dot and a word, so every process of the lab is drawn. */
export class ProcessGroupBox extends Box {
  constructor(parent, group) {
    super({ parent, id: `group-${group.id}`, title: group.title, className: "process-group", rows: 0 });
    this.group.setAttribute("data-group", group.id);
    this.shape = "";
    this.lines = [];
    this.update(group);
  }

  update(group) {
    const shape = group.rows.map((r) => `${r.process}:${r.extra.length}`).join(" ");
    if (shape !== this.shape) this.rebuild(group, shape);
    const room = this.rect.w - 38;
    const fit = (element, text) => {
      const key = `${text}@${room}`;
      if (element.dataset.fitted !== key) {
        fitText(element, text, room);
        element.dataset.fitted = key;
      }
    };
    group.rows.forEach((row, i) => {
      const line = this.lines[i];
      line.g.setAttribute("class", `process-line tone-${row.status}`);
      line.g.setAttribute("data-status", row.status);
      fit(line.text, row.text);
      row.extra.forEach((text, j) => fit(line.extra[j], text));
    });
    this.view = group;
    this.tooltip.textContent = `${group.title}: ${group.rows.map((r) => [r.text, ...r.extra].join(", ")).join("; ")}`;
  }

  rebuild(group, shape) {
    for (const line of this.lines) line.g.remove();
    this.lines = group.rows.map((row) => {
      const g = svgElement("g", { "data-process": row.process }, this.group);
      const dot = svgElement("circle", { class: "process-dot", r: 4 }, g);
      const text = svgElement("text", { class: "box-row" }, g);
      const extra = row.extra.map(() => svgElement("text", { class: "box-row process-extra" }, g));
      return { g, dot, text, extra };
    });
    this.shape = shape;
    this.place(this.rect);
  }

  place(rect) {
    super.place(rect);
    let y = rect.y + GROUP_LINE_TOP;
    for (const line of this.lines) {
      setAttributes(line.dot, { cx: rect.x + 20, cy: y - 4 });
      setAttributes(line.text, { x: rect.x + 30, y });
      y += 16;
      for (const text of line.extra) {
        setAttributes(text, { x: rect.x + 30, y });
        y += 16;
      }
    }
    if (this.view) this.update(this.view);
  }

  remove() {
    this.group.remove();
  }
}
