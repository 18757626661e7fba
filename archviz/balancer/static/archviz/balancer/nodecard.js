// One node card on the LB page: its numbers, and for instructors its buttons and settings form.
import { el, fieldsOf, text } from "../js/lib/dom.js";

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

const stat = (label, ...value) =>
  el(
    "div",
    { class: "lb-stat" },
    el("span", { class: "lb-stat-label" }, label),
    el("span", { class: "lb-stat-value mono" }, ...value),
  );

/**
 * What the balancer says of a node, in a line: its node's refusals (503 at capacity) are
 * counted apart from the errors (no connection, a timeout, another 5xx).
 */
export function balancerLine(backend) {
  const refused = backend.refused_total ?? 0;
  return (
    `LB: waiting on ${backend.in_flight} · ${refused} refused (503 at capacity) · ` +
    `${backend.errors_total} error${backend.errors_total === 1 ? "" : "s"} · ~${Number(backend.ewma_ms).toFixed(0)} ms`
  );
}

/**
 * The caption of a node that was restarted and holds no WebSocket while other nodes hold
 * some: its clients reconnected elsewhere and stay there, since a WebSocket is one long-lived
 * connection that the balancer routed once. "" while that is not the case.
 */
export function restartedCaption(node, nodes) {
  if (!(node.restarts > 0) || node.status !== "up" || node.websockets > 0) return "";
  const elsewhere = nodes.filter((n) => n.id !== node.id).reduce((sum, n) => sum + (n.websockets || 0), 0);
  if (elsewhere === 0) return "";
  return (
    "Restarted: its WebSocket clients reconnected to the other nodes and stay there " +
    `(${elsewhere} open on them). A WebSocket is one long-lived connection, routed once: ` +
    "that is what stateful means. New connections can come here."
  );
}

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
      el("p", { class: "lb-node-caption", "data-field": "restarted", role: "status", hidden: "" }),
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

  update(node, backend, lbUp, share, nodes = [node]) {
    this.view = node;
    const f = this.f;
    const caption = restartedCaption(node, nodes);
    text(f.restarted, caption);
    f.restarted.hidden = caption === "";
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
      notes.push(balancerLine(backend));
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
