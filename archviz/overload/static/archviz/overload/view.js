// The overload page's node cards: a pressure gauge with the reject and shed thresholds, each
// normalised signal against them, connections against the limit, and the node's counters.
// Built with DOM calls; every figure is set with textContent.
import { el, fieldsOf, text } from "../js/lib/dom.js";
import { nodeFigures, percentText, pressureZone } from "./figures.js";

const ZONE_WORDS = {
  ok: "has headroom",
  reject: "over its reject threshold: refusing new work",
  shed: "over its shed threshold: shedding clients",
  unknown: "not reported",
};
const SIGNAL_WORDS = {
  cpu_percent: "CPU",
  rss_bytes: "memory",
  loop_lag_ms: "event-loop lag",
  websockets: "WebSockets",
  outgoing_bytes: "outgoing buffers",
};

/** The card's headline: a node without a pressure report (frozen, dead, or not yet sending
 * one) is "not reporting"; its heartbeat's own reading, when it has one, is shown as such. */
export function zoneText(figures, zone) {
  if (figures.reporting) return ZONE_WORDS[zone];
  if (figures.pressure !== null) return `${ZONE_WORDS[zone]} (heartbeat; no pressure report)`;
  return "not reporting";
}

const count = (n) => (n === null || n === undefined ? "not reported" : String(n));

function gauge() {
  return el(
    "div",
    { class: "ov-gauge", "data-field": "gauge", role: "img" },
    el("div", { class: "ov-gauge-fill", "data-field": "fill" }),
    el("span", { class: "ov-mark ov-mark-reject", "data-field": "reject-mark", title: "reject above" }),
    el("span", { class: "ov-mark ov-mark-shed", "data-field": "shed-mark", title: "shed above" }),
  );
}

function fact(name, field, title = "") {
  return [el("dt", title ? { title } : {}, name), el("dd", { class: "mono", "data-field": field }, "—")];
}

class NodeCard {
  constructor(id) {
    this.root = el(
      "article",
      { class: "ov-node", "data-node": id, "data-zone": "unknown" },
      el("h3", { class: "ov-node-title" }, id, " ", el("span", { class: "ov-zone", "data-field": "zone" }, "")),
      el(
        "p",
        { class: "ov-pressure-line" },
        "pressure ",
        el("strong", { class: "mono", "data-field": "pressure" }, "—"),
        " ",
        el("span", { class: "hint", "data-field": "dominant" }, ""),
      ),
      gauge(),
      el("ul", { class: "ov-signals", "data-field": "signals" }),
      el(
        "dl",
        { class: "ov-facts" },
        ...fact("connections", "connections", "open WebSockets against the node's limit (ws_limit)"),
        ...fact("admitted", "admitted", "HTTP requests it served"),
        ...fact("rejected", "rejected", "refused: WebSocket handshakes (4013) and HTTP work (503)"),
        ...fact("shed", "shed", "open WebSockets it disconnected (4014)"),
        ...fact("admission", "admission", "the HTTP admission policy: limit, in flight, queued"),
      ),
      el("p", { class: "ov-fault", "data-field": "fault", hidden: "" }),
    );
    this.fields = fieldsOf(this.root);
    this.signalRows = new Map();
  }

  update(node) {
    const f = nodeFigures(node);
    const zone = pressureZone(f.pressure, f.thresholds);
    this.root.setAttribute("data-zone", zone);
    this.root.setAttribute("data-reporting", f.reporting ? "1" : "0");
    text(this.fields.zone, zoneText(f, zone));
    text(this.fields.pressure, percentText(f.pressure));
    text(this.fields.dominant, f.dominant ? `· dominant: ${SIGNAL_WORDS[f.dominant] || f.dominant}` : "");
    this.drawGauge(f);
    this.drawSignals(f);
    text(this.fields.connections, f.wsLimit === null ? count(f.websockets) : `${count(f.websockets)} / ${f.wsLimit}`);
    text(this.fields.admitted, count(f.admitted));
    text(this.fields.rejected, count(f.rejected));
    text(this.fields.shed, f.shedding ? `${count(f.shed)} (shedding now)` : count(f.shed));
    const a = f.admission;
    const parts = [a.policy, a.limit !== undefined ? `limit ${a.limit}` : null,
      a.in_flight !== undefined ? `${a.in_flight} in flight` : null, a.queued !== undefined ? `${a.queued} queued` : null,
      a.rtt_ms ? `round trip ${Math.round(a.rtt_ms)} ms` : null];
    text(this.fields.admission, parts.filter(Boolean).join(" · ") || "not reported");
    this.fields.fault.hidden = !f.fault;
    if (f.fault) text(this.fields.fault, `fault under way: ${f.fault.kind === "hog" ? "CPU hog" : "memory balloon"}`);
  }

  drawGauge(f) {
    const pct = (v) => `${Math.round(Math.min(1, Math.max(0, v)) * 100)}%`;
    this.fields.fill.style.width = f.pressure === null ? "0%" : pct(f.pressure);
    for (const [mark, value] of [["reject-mark", f.thresholds.reject], ["shed-mark", f.thresholds.shed]]) {
      this.fields[mark].hidden = value === null;
      if (value !== null) this.fields[mark].style.left = pct(value);
    }
    const t = f.thresholds;
    this.fields.gauge.setAttribute(
      "aria-label",
      `pressure ${percentText(f.pressure)}; reject above ${percentText(t.reject)}, shed above ${percentText(t.shed)}`,
    );
  }

  drawSignals(f) {
    const seen = new Set();
    for (const { name, value } of f.signals) {
      seen.add(name);
      let row = this.signalRows.get(name);
      if (!row) {
        row = el(
          "li",
          { class: "ov-signal" },
          el("span", { class: "ov-signal-name" }, SIGNAL_WORDS[name] || name),
          el("span", { class: "ov-signal-bar" }, el("span", { class: "ov-signal-fill" })),
          el("span", { class: "ov-signal-value mono" }, ""),
        );
        this.signalRows.set(name, row);
        this.fields.signals.append(row);
      }
      const zone = pressureZone(value, f.thresholds);
      row.setAttribute("data-zone", zone);
      row.querySelector(".ov-signal-fill").style.width = `${Math.round(Math.min(1, value) * 100)}%`;
      text(row.querySelector(".ov-signal-value"), percentText(value));
    }
    for (const [name, row] of this.signalRows) {
      if (!seen.has(name)) {
        row.remove();
        this.signalRows.delete(name);
      }
    }
  }
}

/** Every node's card, in the lab state's order. */
export class NodeCards {
  constructor({ container }) {
    this.container = container;
    this.cards = new Map();
  }

  update(nodes) {
    const ids = new Set(nodes.map((n) => n.id));
    for (const [id, card] of this.cards) {
      if (!ids.has(id)) {
        card.root.remove();
        this.cards.delete(id);
      }
    }
    nodes.forEach((node, index) => {
      let card = this.cards.get(node.id);
      if (!card) {
        card = new NodeCard(node.id);
        this.cards.set(node.id, card);
      }
      if (this.container.children[index] !== card.root) {
        this.container.insertBefore(card.root, this.container.children[index] || null);
      }
      card.update(node);
    });
  }
}
