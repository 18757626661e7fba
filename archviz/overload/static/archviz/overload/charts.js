// The overload page's five live charts on one clock: offered load against goodput, p99 of the
// admitted work, the HTTP admission policy per node (limit, in flight, queued), its timing
// (queue time and the round trips the adaptive policies learn from), and the reconnect storm
// (WebSocket handshakes per second per node).
import { markerForEvent, nodeColour } from "../js/lib/chartdata.js";
import { ChartSet, LiveChart } from "../js/lib/charts.js";

/** The chart marker an overload event deserves: scenarios, refusals and sheds; or null. */
export function overloadMarker(event) {
  const d = event.detail || {};
  if (event.kind === "fault.inject") {
    const action = String(d.action || "");
    const words = {
      "overload.clients": () => `flood ${d.target} ×${d.count}`,
      "node.hog": () => `CPU hog ${d.node} ${d.seconds} s`,
      "node.balloon": () => `balloon ${d.node} ${d.mb} MB`,
      "node.shed": () => `shed ${d.percent} % ${d.node}`,
      "overload.reconnect": () => `reconnect: ${d.policy}`,
      "overload.double": () => `×2, limiter ${d.limiter}`,
      "overload.restore": () => "load as before",
    }[action];
    if (words) return { ts: event.ts, text: words(), tone: "fault", dash: "solid", title: words() };
    return markerForEvent(event);
  }
  if (event.kind === "shed.disconnect") {
    const text = `${event.src} shed ${d.count ?? "?"}`;
    return { ts: event.ts, text, tone: "health", dash: "dot", title: `${text} (${d.policy ?? ""})` };
  }
  return markerForEvent(event);
}

// A shedding node closes a batch every 200 ms: one marker per node per few seconds says it.
const SHED_MARK_EVERY_MS = 5000;

/** Whether a shed batch deserves a marker: not when the same node's last one is recent. */
export function worthMarking(marker, event, lastShedMark) {
  if (!marker) return false;
  if (event.kind !== "shed.disconnect") return true;
  const last = lastShedMark.get(event.src);
  if (last !== undefined && event.ts - last < SHED_MARK_EVERY_MS) return false;
  lastShedMark.set(event.src, event.ts);
  return true;
}

// The timing chart's lines per node: what every policy has, then what only some report.
// Short names: three nodes' lines share half a page's width (the caption says what each is).
const TIMING_LINES = [
  ["queue_ms", "queue (longest)", "dash"],
  ["rtt_ms", "round trip (mean)", "solid"],
  ["long_rtt_ms", "baseline RTT (gradient)", "dot"],
  ["rtt_timeout_ms", "drop above (AIMD)", "dashdot"],
  ["target_ms", "queue target (CoDel)", "longdash"],
];

/**
 * The timing chart's points from the nodes' admission figures, declaring each line it uses
 * with `ensure(key, line)`; a figure a node's policy does not report draws no line (a fixed
 * limit has no baseline round trip), never a zero.
 */
export function timingPoints(admission, ensure) {
  const points = {};
  for (const [node, figures] of Object.entries(admission)) {
    for (const [key, words, dash] of TIMING_LINES) {
      const value = figures[key];
      if (typeof value !== "number" || !Number.isFinite(value)) continue;
      ensure(`${node}:${key}`, { name: `${node} ${words}`, colour: nodeColour(node), dash, width: key === "rtt_ms" ? 2 : 1 });
      points[`${node}:${key}`] = value;
    }
  }
  return points;
}

/** options: {elements: {goodput, p99, admission, timing, storm}, windowMs, isHidden}. */
export class OverloadCharts extends ChartSet {
  constructor(options) {
    super(options);
    this.lastShedMark = new Map(); // node -> ts of its last shed marker
    if (!this.available) return;
    const { goodput, p99, admission, timing, storm } = this.options.elements;
    this.goodput = new LiveChart({ element: goodput, yTitle: "requests/s" });
    this.goodput.ensure("asked", { name: "offered (asked)", colour: "#57606a", dash: "dot" });
    this.goodput.ensure("offered", { name: "offered (sent)", colour: "#1d4ed8" });
    this.goodput.ensure("goodput", { name: "goodput (answered)", colour: "#15803d", width: 3 });
    this.p99 = new LiveChart({ element: p99, yTitle: "ms" });
    this.p99.ensure("p99", { name: "p99 of answered requests", colour: "#dc2626" });
    this.admission = new LiveChart({ element: admission, yTitle: "requests" });
    this.timing = new LiveChart({ element: timing, yTitle: "ms" });
    this.storm = new LiveChart({ element: storm, yTitle: "handshakes/s" });
    this.charts = [this.goodput, this.p99, this.admission, this.timing, this.storm];
  }

  /** One sample: {goodput: {asked, offered, goodput}, p99, admission: {node: {limit, in_flight, queued, queue_ms, rtt_ms, ...}}, storm: {node: r/s}}. */
  push(ts, sample) {
    if (!this.available) return;
    this.goodput.push(ts, sample.goodput || {});
    this.p99.push(ts, { p99: sample.p99 });
    const admission = {};
    for (const [node, figures] of Object.entries(sample.admission || {})) {
      const colour = nodeColour(node);
      this.admission.ensure(`${node}:limit`, { name: `${node} limit`, colour });
      this.admission.ensure(`${node}:in_flight`, { name: `${node} in flight`, colour, dash: "dot" });
      this.admission.ensure(`${node}:queued`, { name: `${node} queued`, colour, dash: "dash", width: 1 });
      for (const key of ["limit", "in_flight", "queued"]) admission[`${node}:${key}`] = figures[key];
    }
    this.admission.push(ts, admission);
    this.timing.push(ts, timingPoints(sample.admission || {}, (key, line) => this.timing.ensure(key, line)));
    for (const node of Object.keys(sample.storm || {})) {
      this.storm.ensure(node, { name: node, colour: nodeColour(node) });
    }
    this.storm.push(ts, sample.storm || {});
  }

  /** Mark an event on every chart when it deserves it (overloadMarker, worthMarking). */
  markEvent(event, nowTs) {
    const marker = overloadMarker(event);
    if (worthMarking(marker, event, this.lastShedMark)) this.mark(marker, nowTs);
  }
}
