// The pure helpers that feed the live charts: colours, fairness and shares, counter rates,
// the markers trace events deserve, and time on Plotly's axis. No DOM, no Plotly.
import { CONTROL_ACTIONS } from "./protocol.js";

const NODE_PALETTE = ["#2563eb", "#db2777", "#0d9488", "#ea580c", "#7c3aed", "#65a30d", "#0891b2", "#b45309"];

/** A stable colour per node: node-N always gets the same one, on the charts and in the picture. */
export function nodeColour(nodeId) {
  const number = Number(/(\d+)$/.exec(nodeId)?.[1]);
  if (Number.isFinite(number) && number > 0) {
    return NODE_PALETTE[(number - 1) % NODE_PALETTE.length];
  }
  let hash = 0;
  for (const ch of nodeId) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  return NODE_PALETTE[hash % NODE_PALETTE.length];
}

/** Jain's fairness index of non-negative values: 1 when all are equal, 1/n when one has everything. */
export function jainIndex(values) {
  const xs = values.filter((v) => Number.isFinite(v) && v >= 0);
  const sum = xs.reduce((a, b) => a + b, 0);
  const squares = xs.reduce((a, b) => a + b * b, 0);
  if (xs.length < 2 || squares === 0) {
    return null;
  }
  return (sum * sum) / (xs.length * squares);
}

/** Each key's fraction of the total, or null when the total is 0. */
export function sharesOf(counts) {
  const total = Object.values(counts).reduce((a, b) => a + Math.max(0, b), 0);
  if (total <= 0) {
    return null;
  }
  return Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, Math.max(0, v) / total]));
}

/**
 * Recent samples of monotonic counters (e.g. requests_total per node), to turn into rates.
 * A counter that goes down was reset (its process restarted): older samples are forgotten.
 */
export class CounterHistory {
  constructor({ keepMs = 10_000 } = {}) {
    this.keepMs = keepMs;
    this.samples = [];
  }

  record(ts, counters) {
    const last = this.samples[this.samples.length - 1];
    if (last && ts <= last.ts) {
      return;
    }
    if (last && Object.entries(counters).some(([id, n]) => n < (last.counters[id] ?? 0))) {
      this.samples = [];
    }
    this.samples.push({ ts, counters: { ...counters } });
    while (this.samples.length > 2 && this.samples[1].ts <= ts - this.keepMs) {
      this.samples.shift();
    }
  }

  /** What each counter added over about the last windowMs: {deltas, seconds}, or null without two samples. */
  over(windowMs) {
    const latest = this.samples[this.samples.length - 1];
    if (this.samples.length < 2) {
      return null;
    }
    let base = this.samples[0];
    for (const sample of this.samples) {
      if (sample.ts > latest.ts - windowMs) break;
      base = sample;
    }
    if (base === latest) {
      base = this.samples[this.samples.length - 2];
    }
    const deltas = {};
    for (const [id, n] of Object.entries(latest.counters)) {
      deltas[id] = Math.max(0, n - (base.counters[id] ?? 0));
    }
    return { deltas, seconds: (latest.ts - base.ts) / 1000 };
  }

  /** Per-second rates over about the last windowMs, by counter; {} without two samples. */
  ratesOver(windowMs) {
    const span = this.over(windowMs);
    if (!span || span.seconds <= 0) {
      return {};
    }
    return Object.fromEntries(Object.entries(span.deltas).map(([id, d]) => [id, d / span.seconds]));
  }

  /** When the newest sample was taken (-Infinity with none). */
  get latestTs() {
    return this.samples.length > 0 ? this.samples[this.samples.length - 1].ts : -Infinity;
  }

  clear() {
    this.samples = [];
  }
}

/** Plotly reads tags in labels: strip what could be one. */
export const plainLabel = (text) => String(text).replace(/[<>&]/g, "");

/** The chart marker a trace event deserves ({ts, text, tone, dash, title}), or null. */
export function markerForEvent(event, labelOf = (name) => name) {
  const d = event.detail || {};
  const at = (text, tone, dash = "solid") => ({
    ts: event.ts,
    text: plainLabel(text),
    tone,
    dash,
    title: plainLabel(`${event.kind}: ${text}`),
  });
  if (event.kind === "lb.algorithm") {
    return at(`→ ${labelOf(d.to)}`, "algorithm");
  }
  if (event.kind === "node.down") {
    return at(`${event.dst} down`, "fault", "dash");
  }
  if (event.kind === "lb.health") {
    // the nodes' listener only: its gateway and services listeners' replicas are not nodes
    if (event.demo && event.demo !== "lb") return null;
    return event.ok ? at(`LB: ${event.dst} back`, "recovery", "dot") : at(`LB: ${event.dst} out`, "health", "dot");
  }
  if (event.kind !== "fault.inject") {
    return null;
  }
  const action = String(d.action || "");
  const node = d.node || "";
  if (action.startsWith("node.") && CONTROL_ACTIONS.includes(action.slice(5))) {
    return at(
      `${action.slice(5)} ${node}`,
      action === "node.resume" || action === "node.restart" ? "recovery" : "fault",
    );
  }
  if (action === "node.config") {
    const parts = [];
    if ("latency_ms" in d) parts.push(`+${d.latency_ms} ms`);
    if ("jitter_ms" in d) parts.push(`±${d.jitter_ms} ms`);
    if ("capacity" in d) parts.push(`cap ${d.capacity}`);
    if ("weight" in d) parts.push(`w ${d.weight}`);
    return at(`${node} ${parts.join(" ")}`, "scaling");
  }
  if (action === "node.add") return at(`+ ${node}`, "scaling");
  if (action === "node.remove") return at(`− ${node}`, "scaling");
  if (action === "traffic.set") {
    return at(Number(d.rate) > 0 ? `traffic ${d.rate}/s` : "traffic stopped", "traffic");
  }
  return null; // lb.algorithm commands: the balancer's own lb.algorithm event marks the switch
}

/** Plotly's date axis shows UTC: shift unix ms so it reads as local wall-clock time. */
export function axisTime(ts) {
  return ts - new Date(ts).getTimezoneOffset() * 60_000;
}
