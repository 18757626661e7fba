// The load-balancer picture: clients → load balancer → nodes, one class per thing on screen.
// The boxes are HTML (node cards hold numbers and instructor controls); wires and request
// dots are drawn in an SVG laid over them, in pixels measured from the boxes themselves.
import { pointAlong } from "./animator.js";
import { algorithmLabel } from "./algorithms.js";
import { nodeColour } from "./charts.js";
import { setAttributes, svgElement } from "./svg.js";

export const OUTCOMES = Object.freeze(["ok", "queued", "rejected", "failed"]);

export const DOT_SKIP_REASONS = Object.freeze({
  cap: "too many dots on screen at once",
  late: "arrived too late to draw (tab hidden or a burst of requests)",
  nowhere: "its node has no box on screen",
});

/** When a routed request was answered (its event is published then), in server unix ms. */
export function answeredAt(event) {
  return event.ts + (Number.isFinite(event.ms) ? event.ms : 0);
}

/** The outcome of a routed request, from its trace event. */
export function outcomeOf(event) {
  const outcome = event.detail?.outcome;
  if (OUTCOMES.includes(outcome)) return outcome;
  if (event.kind === "lb.reject") return "rejected";
  return event.ok ? "ok" : "failed";
}

const text = (el, value) => {
  if (el && el.textContent !== value) el.textContent = value;
};

/** Elements marked data-field="name" inside root, by name. */
function fieldsOf(root) {
  return Object.fromEntries(
    [...root.querySelectorAll("[data-field]")].map((el) => [el.getAttribute("data-field"), el]),
  );
}

/** The clients on the left: the traffic generator (and, in words, your own tab). */
export class ClientBox {
  constructor(root) {
    this.root = root;
    this.f = fieldsOf(root);
  }

  update(traffic) {
    const running = Boolean(traffic && traffic.up);
    const sending = running && traffic.rate > 0;
    this.root.setAttribute("data-state", sending ? "sending" : running ? "idle" : "down");
    text(this.f.state, sending ? "sending" : running ? "idle (rate 0)" : "not running");
    if (!running) {
      text(this.f.rate, "—");
      text(this.f.work, "—");
      text(this.f.ws, "—");
      text(this.f.window, "");
      return;
    }
    text(this.f.rate, `${Number(traffic.rate).toFixed(0)} req/s`);
    text(this.f.work, `${Number(traffic.work_ms).toFixed(0)} ± ${Number(traffic.variance_ms).toFixed(0)} ms`);
    text(this.f.ws, `${traffic.ws_open} of ${traffic.ws_clients}`);
    const win = Number(traffic.window_s || 0).toFixed(0);
    text(
      this.f.window,
      `last ${win} s: ${traffic.sent} sent · ${traffic.ok} ok · ${traffic.queued} queued · ${traffic.rejected} rejected · ${traffic.failed} failed`,
    );
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

const NODE_SETTINGS = [
  {
    name: "capacity",
    label: "capacity",
    min: 1,
    max: 1000,
    title: "Requests it works on at once; more wait in its queue, and a full queue rejects (vertical scaling).",
  },
  { name: "latency_ms", label: "latency ms", min: 0, max: 10_000, title: "Delay added to every request: a slow node." },
  {
    name: "jitter_ms",
    label: "jitter ms",
    min: 0,
    max: 10_000,
    title: "Up to this much more delay per request, at random.",
  },
  {
    name: "weight",
    label: "weight",
    min: 1,
    max: 100,
    title: "Its share under weighted round robin (and the hash ring).",
  },
];

const NODE_ACTIONS = [
  {
    action: "kill",
    label: "Kill",
    className: "danger",
    title: "SIGKILL: the process dies at once, like a crash. The supervisor starts a new one.",
  },
  { action: "restart", label: "Restart", title: "Stop it cleanly and start a fresh process." },
  {
    action: "pause",
    label: "Pause",
    title: "SIGSTOP: a half-dead node. Its port still accepts connections but nothing answers.",
  },
  { action: "resume", label: "Resume", title: "SIGCONT: a paused node carries on." },
  { action: "remove", label: "Remove", title: "Scale in: stop this node for good and forget it." },
];

const FLASH_COLOURS = { ok: "#16a34a", queued: "#d97706", rejected: "#9333ea", failed: "#dc2626" };

/** Build an element with attributes and children (strings become text, never HTML). */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  node.append(...children);
  return node;
}

const stat = (label, ...value) =>
  el(
    "div",
    { class: "lb-stat" },
    el("span", { class: "lb-stat-label" }, label),
    el("span", { class: "lb-stat-value mono" }, ...value),
  );

/** Whole numbers in their limits, from the inputs that changed; or a message saying what is wrong. */
export function readSettings(inputs, current) {
  const changes = {};
  for (const spec of NODE_SETTINGS) {
    const raw = inputs[spec.name].value.trim();
    const value = Number(raw);
    if (raw === "" || !Number.isInteger(value) || value < spec.min || value > spec.max) {
      return { error: `${spec.label} must be a whole number from ${spec.min} to ${spec.max}` };
    }
    if (value !== current[spec.name]) changes[spec.name] = value;
  }
  return { changes };
}

/** One node behind the balancer: its numbers, and for instructors its controls. */
export class NodeCard {
  constructor({ list, nodeId, colour, instructor, onAction }) {
    this.nodeId = nodeId;
    this.view = null;
    this.expected = null; // settings sent and acknowledged, until the state shows them
    const field = (name, className = "") => el("span", { "data-field": name, class: className });
    this.root = el(
      "article",
      { class: "lb-node", "data-lb-node": nodeId, style: `--node-colour: ${colour}`, "aria-label": nodeId },
      el(
        "div",
        { class: "lb-node-head" },
        el("span", { class: "lb-node-swatch", "aria-hidden": "true" }),
        el("h3", { class: "lb-node-id mono" }, nodeId),
        field("status", "status-chip"),
        el("span", { class: "lb-health" }, "LB: ", field("health", "health-word")),
        el(
          "span",
          { class: "lb-node-share" },
          field("share", "mono"),
          el("span", { class: "hint" }, " of requests (5 s)"),
        ),
      ),
      el(
        "div",
        { class: "lb-stats" },
        stat("served", field("served")),
        stat("in flight", field("in-flight"), el("span", { class: "of" }, " / "), field("capacity")),
        stat("queued", field("queued")),
        stat("WebSockets", field("websockets")),
        stat("weight", field("weight")),
        stat("added delay", field("delay")),
      ),
      el("div", { class: "lb-meter", "aria-hidden": "true" }, el("span", { class: "lb-meter-busy" })),
      el("p", { class: "lb-node-note" }, field("note")),
    );
    this.f = fieldsOf(this.root);
    this.meter = this.root.querySelector(".lb-meter");
    this.busy = this.root.querySelector(".lb-meter-busy");
    if (instructor) {
      this.root.append(this.controls(onAction));
    }
    list.append(this.root);
  }

  controls(onAction) {
    const buttons = NODE_ACTIONS.map(({ action, label, className = "", title }) => {
      const button = el("button", { type: "button", "data-action": action, title, class: className }, label);
      button.addEventListener("click", () => onAction(action, this.nodeId));
      return button;
    });
    this.inputs = {};
    const labels = NODE_SETTINGS.map((spec) => {
      const input = el("input", {
        type: "number",
        "data-setting": spec.name,
        min: spec.min,
        max: spec.max,
        step: 1,
        inputmode: "numeric",
      });
      input.addEventListener("input", () => input.setAttribute("data-dirty", "1"));
      this.inputs[spec.name] = input;
      return el("label", { title: spec.title }, el("span", {}, spec.label), input);
    });
    const apply = el(
      "button",
      {
        type: "submit",
        "data-action": "apply-settings",
        title: "Send the changed settings; the node applies them live.",
      },
      "Apply",
    );
    // novalidate: bad input is explained in words below, not blocked by a browser bubble
    const form = el("form", { class: "lb-node-settings", novalidate: "" }, ...labels, apply);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.applySettings(onAction);
    });
    this.feedbackLine = el("p", { class: "lb-node-feedback", "aria-live": "polite" });
    return el(
      "div",
      { class: "lb-node-controls" },
      el("div", { class: "lb-node-buttons" }, ...buttons),
      form,
      this.feedbackLine,
    );
  }

  applySettings(onAction) {
    if (!this.view) return;
    const { changes, error } = readSettings(this.inputs, this.view);
    if (error) {
      this.feedback(error, "error");
    } else if (Object.keys(changes).length === 0) {
      for (const input of Object.values(this.inputs)) input.removeAttribute("data-dirty");
      this.feedback("Nothing changed: edit a number first.", "info");
    } else {
      this.pendingSettings = changes;
      onAction("apply-settings", this.nodeId, changes);
    }
  }

  /** The server accepted the settings: keep showing them until the state catches up. */
  settingsAccepted() {
    if (this.pendingSettings) {
      this.expected = { values: this.pendingSettings, until: Date.now() + 8000 };
      this.pendingSettings = null;
    }
    for (const input of Object.values(this.inputs || {})) input.removeAttribute("data-dirty");
  }

  feedback(message, tone = "info") {
    if (!this.feedbackLine) return;
    this.feedbackLine.textContent = message;
    this.feedbackLine.setAttribute("data-tone", tone);
    clearTimeout(this.feedbackTimer);
    this.feedbackTimer = setTimeout(() => (this.feedbackLine.textContent = ""), tone === "error" ? 20_000 : 8000);
  }

  update(node, backend, lbUp, share) {
    this.view = node;
    const f = this.f;
    this.root.setAttribute("data-status", node.status);
    text(f.status, node.status);
    f.status.setAttribute("data-status", node.status);
    const health = backend ? backend.health : lbUp ? "not in LB" : "no LB";
    this.root.setAttribute("data-health", backend ? backend.health : "none");
    text(f.health, health);
    f.health.title =
      backend?.health_detail ||
      (lbUp ? "the balancer does not list this node (yet)" : "the load balancer is not running");
    text(f.share, share === null || share === undefined ? "—" : `${Math.round(share * 100)}%`);
    text(f.served, backend ? String(backend.requests_total) : "—");
    text(f["in-flight"], String(node.in_flight));
    text(f.capacity, String(node.capacity));
    text(f.queued, String(node.queued));
    text(f.websockets, String(node.websockets));
    text(f.weight, String(node.weight));
    const jitter = node.jitter_ms ? ` ±${node.jitter_ms}` : "";
    text(f.delay, node.latency_ms || node.jitter_ms ? `+${node.latency_ms}${jitter} ms` : "none");
    const load = node.capacity > 0 ? Math.min(1, node.in_flight / node.capacity) : 0;
    this.busy.style.width = `${(load * 100).toFixed(0)}%`;
    this.meter.classList.toggle("queueing", node.queued > 0);
    this.meter.title = `${node.in_flight} of ${node.capacity} slots busy, ${node.queued} waiting`;
    const notes = [];
    if (node.detail) notes.push(node.detail);
    if (backend) {
      notes.push(
        `LB: waiting on ${backend.in_flight} · ${backend.errors_total} errors · ~${Number(backend.ewma_ms).toFixed(0)} ms`,
      );
      if (backend.health !== "healthy" && backend.health_detail) notes.push(backend.health_detail);
    }
    text(f.note, notes.join(" · "));
    f.note.title = f.note.textContent;
    this.syncInputs(node);
  }

  /** Show the node's settings in the inputs, except where the instructor is typing. */
  syncInputs(node) {
    if (!this.inputs) return;
    const expected = this.expected && Date.now() < this.expected.until ? this.expected.values : null;
    if (expected && Object.entries(expected).every(([k, v]) => node[k] === v)) this.expected = null;
    for (const [name, input] of Object.entries(this.inputs)) {
      const busy = input.hasAttribute("data-dirty") || document.activeElement === input;
      const value = String(this.expected && name in this.expected.values ? this.expected.values[name] : node[name]);
      if (!busy && input.value !== value) input.value = value;
    }
  }

  /** A ring in the outcome's colour: faint for an answer, strong for a rejection or failure. */
  flash(outcome) {
    const strong = outcome === "rejected" || outcome === "failed";
    const ring = `0 0 0 ${strong ? 4 : 2}px ${FLASH_COLOURS[outcome]}`;
    this.root.animate([{ boxShadow: ring }, { boxShadow: "0 0 0 0 transparent" }], {
      duration: strong ? 700 : 300,
      easing: "ease-out",
    });
  }

  remove() {
    this.root.remove();
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

const DOT_DEFAULTS = {
  layer: null,
  routeFor: () => null, // (event) -> [{x, y}, ...] | null, asked again every frame (boxes move)
  onArrive: () => {},
  onSkipped: () => {},
  durationMs: 700,
  minDelayMs: 150, // replay delay: events come in 50 ms batches, published when a request is answered
  maxDelayMs: 3000,
  maxLateMs: 500, // a dot that cannot start within this of its time is skipped
  maxDots: 100,
  maxQueued: 600,
  now: () => performance.now(),
  isHidden: () => document.hidden,
};

/** Request dots: one per routed request, client → LB → node, coloured by outcome. */
export class RequestDots {
  constructor(options) {
    this.options = { ...DOT_DEFAULTS, ...options };
    this.queue = []; // {event, startAt}, by startAt
    this.active = [];
    this.skipped = { cap: 0, late: 0, nowhere: 0 };
    this.delayMs = this.options.minDelayMs;
    this.frameRequested = false;
    this.tick = this.tick.bind(this);
  }

  get skippedTotal() {
    return this.skipped.cap + this.skipped.late + this.skipped.nowhere;
  }

  /**
   * Queue events; serverOffsetMs (server clock minus ours) places each at its own time. Events
   * reach us late by a varying amount (batching, a busy lab), so they are replayed that much
   * later, at their own pace: a burst that arrives at once is drawn spread out as it happened.
   */
  play(events, serverOffsetMs) {
    const { now, isHidden, minDelayMs, maxDelayMs, maxLateMs, maxQueued } = this.options;
    const perfNow = now();
    const wallNow = Date.now();
    const localTime = (event) => answeredAt(event) - serverOffsetMs;
    const age = Math.max(...events.map((e) => wallNow - localTime(e)));
    const eased = age > this.delayMs ? age + 50 : this.delayMs * 0.95 + age * 0.05;
    this.delayMs = Math.min(maxDelayMs, Math.max(minDelayMs, eased));
    for (const event of events) {
      const startAt = perfNow + (localTime(event) + this.delayMs - wallNow);
      if (isHidden() || startAt < perfNow - maxLateMs) {
        this.skip("late");
      } else if (this.queue.length >= maxQueued) {
        this.skip("cap");
      } else {
        this.queue.push({ event, startAt });
      }
    }
    this.queue.sort((a, b) => a.startAt - b.startAt);
    this.requestFrame();
  }

  skip(reason) {
    this.skipped[reason] += 1;
    this.options.onSkipped({ ...this.skipped }, this.skippedTotal);
  }

  requestFrame() {
    if (!this.frameRequested && (this.queue.length > 0 || this.active.length > 0)) {
      this.frameRequested = true;
      requestAnimationFrame(this.tick);
    }
  }

  tick() {
    this.frameRequested = false;
    const now = this.options.now();
    while (this.queue.length > 0 && this.queue[0].startAt <= now) {
      this.start(this.queue.shift(), now);
    }
    this.active = this.active.filter((dot) => this.advance(dot, now));
    this.requestFrame();
  }

  start({ event, startAt }, now) {
    if (now - startAt > this.options.maxLateMs || this.options.isHidden()) {
      this.skip("late");
    } else if (!this.options.routeFor(event)) {
      this.skip("nowhere");
    } else if (this.active.length >= this.options.maxDots) {
      this.skip("cap");
    } else {
      const outcome = outcomeOf(event);
      const circle = svgElement("circle", { r: 5, class: `lb-dot outcome-${outcome}` }, this.options.layer);
      this.active.push({ event, outcome, circle, startedAt: now });
    }
  }

  /** Move a dot; false once it has arrived (and is gone). */
  advance(dot, now) {
    const points = this.options.routeFor(dot.event);
    const t = Math.min(1, (now - dot.startedAt) / this.options.durationMs);
    if (!points || t >= 1) {
      dot.circle.remove();
      if (points) this.options.onArrive(dot.event, dot.outcome);
      return false;
    }
    const p = pointAlong(points, t < 0.5 ? 2 * t * t : 1 - (-2 * t + 2) ** 2 / 2);
    setAttributes(dot.circle, { cx: p.x.toFixed(1), cy: p.y.toFixed(1) });
    return true;
  }

  /** Drop every dot, queued or moving (e.g. after a reconnect); counts nothing. */
  clear() {
    for (const dot of this.active) dot.circle.remove();
    this.active = [];
    this.queue = [];
  }
}

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
      card.update(node, backends.get(node.id) || null, Boolean(state.lb), shares ? shares[node.id] : null);
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
    const toNodes = new Map();
    for (const [id, card] of this.cards) {
      const r = rel(card.root);
      const start = { x: lb.x + lb.w, y: inY };
      const busX = start.x + Math.max(10, (r.x - start.x) / 2);
      const y = r.y + Math.min(r.h / 2, 34);
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
