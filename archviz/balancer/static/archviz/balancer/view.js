// The load-balancer picture: client box, balancer box, node cards, wires and request dots.
// The boxes are HTML (node cards, in nodecard.js, hold numbers and instructor controls); wires and
// request dots (dots.js) are drawn in an SVG laid over them, in pixels measured from the boxes.
import { algorithmLabel } from "../js/lib/algorithms.js";
import { nodeColour } from "../js/lib/chartdata.js";
import { fieldsOf, text } from "../js/lib/dom.js";
import { RequestDots } from "./dots.js";
import { clientState } from "./traffic.js";
import { NodeCard } from "./nodecard.js";
import { setAttributes, svgElement } from "../js/lib/svg.js";

/** The clients on the left: the traffic generator (and, in words, your own tab). */
export class ClientBox {
  constructor(root) {
    this.root = root;
    this.f = fieldsOf(root);
  }

  update(traffic) {
    const running = Boolean(traffic && traffic.up);
    const { state, word } = clientState(traffic);
    this.root.setAttribute("data-state", state);
    text(this.f.state, word);
    if (!running) {
      text(this.f.rate, "—");
      text(this.f.work, "—");
      text(this.f.ws, "—");
      text(this.f.window, "");
      return;
    }
    const toQueue = state === "queue-only";
    text(this.f.rate, `${Number(traffic.rate).toFixed(0)} ${toQueue ? "jobs/s to the queue" : "req/s"}`);
    text(this.f.work, `${Number(traffic.work_ms).toFixed(0)} ± ${Number(traffic.variance_ms).toFixed(0)} ms`);
    text(this.f.ws, `${traffic.ws_open} of ${traffic.ws_clients}`);
    const win = Number(traffic.window_s || 0).toFixed(0);
    const counts = `${traffic.sent} sent · ${traffic.ok} ok · ${traffic.queued} queued · ${traffic.rejected} rejected · ${traffic.failed} failed`;
    const enqueued = toQueue ? ` (${traffic.queue_enqueued ?? 0} jobs enqueued since it started)` : "";
    text(this.f.window, `last ${win} s through the balancer: ${counts}${enqueued}`);
  }
}

/** The load balancer in the middle: its algorithm, counters and latest routing decision. */
export class BalancerBox {
  constructor(root) {
    this.root = root;
    this.f = fieldsOf(root);
    this.lastReasonAt = 0;
  }

  update(lb) {
    this.root.setAttribute("data-state", lb ? "up" : "down");
    text(this.f.state, lb ? "running" : "not running");
    text(this.f.algorithm, lb ? algorithmLabel(lb.algorithm) : "—");
    text(this.f.port, lb && lb.port ? String(lb.port) : "—");
    text(this.f.routed, lb ? String(lb.requests_total) : "—");
    text(this.f["no-backend"], lb ? String(lb.no_backend_total) : "—");
    text(this.f.refused, lb ? String(lb.refused_connections_total) : "—");
    if (lb) this.f.refused.title = `client connections refused: ${lb.max_connections} were open`;
    if (!lb) text(this.f.reason, "");
  }

  /** The reason of the latest routing decision, at most a few times a second so it can be read. */
  showDecision(event, now) {
    if (now - this.lastReasonAt < 400) return;
    this.lastReasonAt = now;
    const reason = event.detail?.reason || "";
    text(this.f.reason, reason ? `${event.dst}: ${reason}` : "");
    this.f.reason.title = reason;
  }
}

/** The wires: clients → LB, and LB → each node, thicker for a node's larger share. */
class Wires {
  constructor(layer) {
    this.layer = layer;
    this.inbound = svgElement("polyline", { class: "lb-wire inbound" }, layer);
    this.toNode = new Map(); // node id -> polyline
  }

  draw(inbound, routes) {
    setAttributes(this.inbound, { points: pointsAttr(inbound) });
    for (const [id, line] of this.toNode) {
      if (!routes.has(id)) {
        line.remove();
        this.toNode.delete(id);
      }
    }
    for (const [id, points] of routes) {
      let line = this.toNode.get(id);
      if (!line) {
        line = svgElement("polyline", { class: "lb-wire", stroke: nodeColour(id) }, this.layer);
        this.toNode.set(id, line);
      }
      setAttributes(line, { points: pointsAttr(points) });
    }
  }

  setShares(shares) {
    for (const [id, line] of this.toNode) {
      const share = shares ? (shares[id] ?? 0) : 0;
      line.style.strokeWidth = `${(1.5 + 8 * share).toFixed(1)}px`;
      line.classList.toggle("idle", share === 0);
    }
  }
}

const pointsAttr = (points) => points.map((p) => `${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(" ");

const TOPOLOGY_DEFAULTS = {
  frame: null, // positioned container of the boxes
  svg: null, // laid over the frame
  client: null, // the client box element
  balancer: null, // the balancer box element
  nodeList: null, // where node cards go
  instructor: false,
  onNodeAction: () => {}, // (action, nodeId, settings?)
  onSkipped: () => {},
};

/** The whole picture; update(state, shares) several times a second, play(events) as they come. */
export class LbTopology {
  constructor(options) {
    this.options = { ...TOPOLOGY_DEFAULTS, ...options };
    const { svg } = this.options;
    this.wires = new Wires(svgElement("g", { class: "lb-wires-layer" }, svg));
    this.dotLayer = svgElement("g", { class: "lb-dots" }, svg);
    this.client = new ClientBox(this.options.client);
    this.balancer = new BalancerBox(this.options.balancer);
    this.cards = new Map();
    this.inbound = null;
    this.routes = new Map();
    this.lastFlash = new Map();
    this.dots = new RequestDots({
      layer: this.dotLayer,
      routeFor: (event) => this.routeFor(event),
      onArrive: (event, outcome) => this.arrived(event, outcome),
      onSkipped: this.options.onSkipped,
    });
    this.layoutRequested = false;
    const observer = new ResizeObserver(() => this.requestLayout());
    observer.observe(this.options.frame);
    observer.observe(this.options.nodeList);
    this.observer = observer;
  }

  update(state, shares) {
    this.client.update(state.traffic);
    this.balancer.update(state.lb);
    const backends = new Map((state.lb?.backends || []).map((b) => [b.id, b]));
    const seen = new Set();
    for (const node of state.nodes) {
      seen.add(node.id);
      let card = this.cards.get(node.id);
      if (!card) {
        card = new NodeCard({
          list: this.options.nodeList,
          nodeId: node.id,
          colour: nodeColour(node.id),
          instructor: this.options.instructor,
          onAction: this.options.onNodeAction,
        });
        this.cards.set(node.id, card);
        this.requestLayout();
      }
      const share = shares ? shares[node.id] : null;
      card.update(node, backends.get(node.id) || null, Boolean(state.lb), share, state.nodes);
    }
    for (const [id, card] of this.cards) {
      if (!seen.has(id)) {
        card.remove();
        this.cards.delete(id);
        this.requestLayout();
      }
    }
    this.wires.setShares(shares);
  }

  card(nodeId) {
    return this.cards.get(nodeId) || null;
  }

  play(events, serverOffsetMs) {
    const routed = events.filter((e) => e.kind === "lb.route" || e.kind === "lb.reject");
    if (routed.length === 0) return;
    const now = performance.now();
    for (const e of routed) {
      if (e.kind === "lb.route") this.balancer.showDecision(e, now);
    }
    this.dots.play(routed, serverOffsetMs);
  }

  routeFor(event) {
    if (event.kind === "lb.reject") return this.inbound;
    return this.routes.get(event.dst) || null;
  }

  arrived(event, outcome) {
    const card = this.cards.get(event.dst);
    const now = performance.now();
    const bad = outcome === "rejected" || outcome === "failed";
    if (card && (bad || now - (this.lastFlash.get(event.dst) || 0) > 300)) {
      this.lastFlash.set(event.dst, now);
      card.flash(outcome);
    }
  }

  requestLayout() {
    if (!this.layoutRequested) {
      this.layoutRequested = true;
      requestAnimationFrame(() => {
        this.layoutRequested = false;
        this.layout();
      });
    }
  }

  /** Measure the boxes and route the wires between them (in the frame's pixels). */
  layout() {
    const { frame, svg, client, balancer } = this.options;
    const box = frame.getBoundingClientRect();
    const rel = (el) => {
      const r = el.getBoundingClientRect();
      return { x: r.left - box.left, y: r.top - box.top, w: r.width, h: r.height };
    };
    setAttributes(svg, {
      viewBox: `0 0 ${box.width.toFixed(0)} ${box.height.toFixed(0)}`,
      width: box.width,
      height: box.height,
    });
    const c = rel(client);
    const lb = rel(balancer);
    const inY = lb.y + lb.h / 2;
    this.inbound = [
      { x: c.x + c.w, y: c.y + c.h / 2 },
      { x: c.x + c.w + 14, y: inY },
      { x: lb.x, y: inY },
    ];
    if (Math.abs(c.y + c.h / 2 - inY) < 1) this.inbound.splice(1, 1);
    const nodes = new Map([...this.cards].map(([id, card]) => [id, rel(card.root)]));
    // On a phone the nodes sit below the balancer: the wires leave its bottom and run down
    // the frame's left gutter; beside it, they leave its right side.
    const top = Math.min(...[...nodes.values()].map((r) => r.y));
    const below = top >= lb.y + lb.h;
    const toNodes = new Map();
    for (const [id, r] of nodes) {
      const y = r.y + Math.min(r.h / 2, 34);
      if (below) {
        const start = { x: lb.x + lb.w / 2, y: lb.y + lb.h };
        const busY = Math.max(start.y + 6, top - 10);
        const gutterX = Math.max(4, r.x / 2);
        toNodes.set(id, [start, { x: start.x, y: busY }, { x: gutterX, y: busY }, { x: gutterX, y }, { x: r.x, y }]);
        continue;
      }
      const start = { x: lb.x + lb.w, y: inY };
      const busX = start.x + Math.max(10, (r.x - start.x) / 2);
      toNodes.set(id, [start, { x: busX, y: inY }, { x: busX, y }, { x: r.x, y }]);
    }
    this.wires.draw(this.inbound, toNodes);
    // A dot's whole path, client → LB → node, asked for every frame: built once per layout.
    this.routes = new Map([...toNodes].map(([id, points]) => [id, [...this.inbound, ...points]]));
  }

  clearDots() {
    this.dots.clear();
  }
}
