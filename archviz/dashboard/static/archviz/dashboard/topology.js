// The lab's topology drawn in SVG: fixed boxes, one box per node, and below them a box per
// group of the lab's other processes (processes.js), so every process the lab runs is drawn.
// Boxes are created once and updated in place (keyed by component id), so a
// state frame several times a second changes text and attributes, never the DOM shape.
import { DashboardBox, NodeBox, ProcessGroupBox, RedisBox, SupervisorBox } from "./boxes.js";
import { groupLineCount, processGroups } from "./processes.js";
import { componentBoxId } from "../js/lib/protocol.js";
import { edgePoint, nodeGrid, svgElement } from "../js/lib/svg.js";
import { topologyLayout } from "./layout.js";

const DEFAULTS = {
  svg: null,
  onSelect: () => {},
  redisAddress: "", // host:port, on instructors' pages only
};

const centre = (r) => ({ x: r.x + r.w / 2, y: r.y + r.h / 2 });

/** The whole picture: fixed boxes for supervisor, dashboard and Redis, one box per node, one
 * per group of other processes. */
export class Topology {
  constructor(options) {
    this.options = { ...DEFAULTS, ...options };
    const { svg } = this.options;
    this.layout = topologyLayout(0, 0);
    this.laneLayer = svgElement("g", { class: "lanes", "aria-hidden": "true" }, svg);
    this.edgeLayer = svgElement("g", { class: "edges", "aria-hidden": "true" }, svg);
    this.boxLayer = svgElement("g", { class: "boxes" }, svg);
    this.dotLayer = svgElement("g", { class: "dots", "aria-hidden": "true" }, svg);
    this.nodeCaption = svgElement("text", { class: "area-caption", "text-anchor": "middle" }, this.boxLayer);
    this.emptyNote = svgElement("text", { class: "empty-note", "text-anchor": "middle" }, this.boxLayer);
    this.emptyNote.textContent = "waiting for the lab's first update…";
    this.groupCaption = svgElement("text", { class: "area-caption", "text-anchor": "start" }, this.boxLayer);
    this.supervisor = new SupervisorBox(this.boxLayer);
    this.dashboard = new DashboardBox(this.boxLayer);
    this.redis = new RedisBox(this.boxLayer, this.options.redisAddress);
    this.nodes = new Map();
    this.nodeOrder = null;
    this.nodeIds = [];
    this.groups = new Map(); // group id -> ProcessGroupBox, in the order drawn
    this.groupLines = [];
    this.selectedId = null;
    this.placed = false;
    this.applyLayout();
    // Laid out again whenever the picture's width on screen changes (a phone turned, a window
    // resized): its text is never drawn smaller than 1:1 (layout.js).
    new ResizeObserver(() => this.applyLayout()).observe(svg.parentElement || svg);
  }

  /** Place every box, lane and wire for the picture's width now and the nodes shown. */
  applyLayout() {
    const { svg } = this.options;
    const wanted = topologyLayout(svg.getBoundingClientRect().width, this.nodeIds.length, this.groupLines);
    if (this.placed && JSON.stringify(wanted) === JSON.stringify(this.layout)) return;
    this.placed = true;
    this.layout = wanted;
    const { width, height, nodeArea } = wanted;
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    svg.style.aspectRatio = `${width} / ${height}`;
    const middle = nodeArea.x + nodeArea.w / 2;
    for (const [text, y] of [[this.nodeCaption, nodeArea.y - 12], [this.emptyNote, nodeArea.y + Math.min(nodeArea.h / 2, 60)]]) {
      text.setAttribute("x", middle);
      text.setAttribute("y", y);
    }
    this.supervisor.place(wanted.supervisorRect);
    this.dashboard.place(wanted.dashboardRect);
    this.redis.place(wanted.redisRect);
    this.placeGroups();
    this.laneLayer.replaceChildren();
    this.drawLanes();
    this.relayout(this.nodeIds);
  }

  update(state) {
    this.supervisor.update(state);
    this.dashboard.update(state);
    this.redis.update(state);
    this.syncNodes(state.nodes);
    this.syncGroups(processGroups(state.processes, state.gateway));
    const count = state.nodes.length;
    const process = this.layout.narrow ? "" : " (daphne)"; // a phone's column has no room for it
    this.nodeCaption.textContent =
      count === 0 ? "worker nodes" : `${count} worker node${count === 1 ? "" : "s"}: each its own OS process${process}`;
    this.emptyNote.textContent = "no nodes configured: an admin can add some in the Django admin";
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
      this.nodeIds = views.map((v) => v.id);
      this.applyLayout(); // a narrow picture grows with its nodes
      this.relayout(this.nodeIds);
    }
    for (const view of views) {
      this.nodes.get(view.id).update(view);
    }
  }

  /** One box per group of the other processes; laid out again when a group's lines change. */
  syncGroups(groups) {
    const ids = new Set(groups.map((g) => g.id));
    for (const [id, box] of this.groups) {
      if (!ids.has(id)) {
        box.remove();
        this.groups.delete(id);
      }
    }
    const ordered = new Map();
    for (const group of groups) {
      const box = this.groups.get(group.id) || new ProcessGroupBox(this.boxLayer, group);
      box.update(group);
      ordered.set(group.id, box);
    }
    this.groups = ordered;
    const lines = groups.map(groupLineCount);
    if (lines.join() !== this.groupLines.join()) {
      this.groupLines = lines;
      this.applyLayout();
      this.placeGroups(); // the same layout (a group swapped for one as long) still moves boxes
    }
  }

  placeGroups() {
    const { rects, captionY } = this.layout.groups;
    [...this.groups.values()].forEach((box, i) => rects[i] && box.place(rects[i]));
    this.groupCaption.setAttribute("x", this.layout.narrow ? 10 : 20);
    this.groupCaption.setAttribute("y", captionY);
    this.groupCaption.textContent = rects.length
      ? this.layout.narrow
        ? "other processes, each its own OS process"
        : "the lab's other processes, each its own OS process, started and restarted by the supervisor"
      : "";
  }

  relayout(ids) {
    const rects = nodeGrid(ids.length, this.layout.nodeArea, this.layout.grid);
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
    const top = this.route(this.supervisor, this.redis);
    this.drawWire(this.laneLayer, top, "lane");
    const pubsub = "pub/sub: Redis pushes messages to the dashboard";
    const registry = "supervisor ↔ Redis: registry and commands";
    if (this.layout.narrow) {
      const right = this.layout.width - 12; // clear of the captions, which start on the left
      this.laneLabel({ x: right, y: this.layout.dashboardRect.y - 44 }, pubsub, "end");
      this.laneLabel({ x: top[0].x - 8, y: (top[0].y + top[1].y) / 2 + 4 }, registry, "end");
      return;
    }
    this.laneLabel(this.overSegment(bottom), pubsub);
    this.laneLabel(this.overSegment(top), registry);
  }

  overSegment(points) {
    const a = points[1];
    const b = points[2];
    return { x: (a.x + b.x) / 2, y: a.y - 4 };
  }

  drawWire(layer, points, className = "edge") {
    const attr = points.map((p) => `${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(" ");
    svgElement("polyline", { class: className, points: attr }, layer);
  }

  laneLabel(at, text, anchor = "middle") {
    const label = svgElement(
      "text",
      { class: "lane-label", x: at.x, y: at.y, "text-anchor": anchor },
      this.laneLayer,
    );
    label.textContent = text;
  }

  /** The points a message follows from box a to box b. */
  route(a, b) {
    const pair = new Set([a.id, b.id]);
    if (this.layout.narrow && pair.has("redis") && (pair.has("dashboard") || pair.has("supervisor"))) {
      return this.narrowLane(a, b);
    }
    const { bottomLaneY, topLaneY, width } = this.layout;
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

  /** One column: the supervisor's lane drops straight onto Redis; Redis's to the dashboard
   * runs down the right edge, past the nodes. */
  narrowLane(a, b) {
    const { topLaneX, sideLaneX } = this.layout;
    const other = a.id === "redis" ? b : a;
    const r = this.redis.rect;
    const o = other.rect;
    const points =
      other.id === "supervisor"
        ? [{ x: topLaneX, y: o.y + o.h }, { x: topLaneX, y: r.y }]
        : [
            { x: r.x + r.w, y: r.y + r.h / 2 },
            { x: sideLaneX, y: r.y + r.h / 2 },
            { x: sideLaneX, y: o.y + o.h / 2 },
            { x: o.x + o.w, y: o.y + o.h / 2 },
          ];
    const fromOther = other.id === "supervisor" ? points : points.reverse();
    return a.id === other.id ? fromOther : fromOther.reverse();
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
