// The lab's topology drawn in SVG: fixed boxes plus one box per node.
// Boxes are created once and updated in place (keyed by component id), so a
// state frame several times a second changes text and attributes, never the DOM shape.
import { DashboardBox, NodeBox, RedisBox, SupervisorBox } from "./boxes.js";
import { componentBoxId } from "../js/lib/protocol.js";
import { edgePoint, nodeGrid, svgElement } from "../js/lib/svg.js";

const DEFAULTS = {
  svg: null,
  onSelect: () => {},
  redisAddress: "", // host:port, on instructors' pages only
  width: 1000,
  height: 530,
  nodeArea: { x: 250, y: 46, w: 500, h: 440 },
  supervisorRect: { x: 20, y: 46, w: 190, h: 90 },
  dashboardRect: { x: 20, y: 226, w: 190, h: 106 }, // four rows: its tabs too
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
    this.emptyNote.textContent = "waiting for the lab's first update…";
    this.supervisor = new SupervisorBox(this.boxLayer);
    this.supervisor.place(this.options.supervisorRect);
    this.dashboard = new DashboardBox(this.boxLayer);
    this.dashboard.place(this.options.dashboardRect);
    this.redis = new RedisBox(this.boxLayer, this.options.redisAddress);
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
