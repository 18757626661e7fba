// The queue page's charts: backlog, jobs/s in and out, per-consumer throughput, latency; and
// the side-by-side comparison with the load balancer (same scales on both paths).
import { markerForEvent, nodeColour } from "../js/lib/chartdata.js";
import { ChartSet, LiveChart } from "../js/lib/charts.js";

const Plotly = globalThis.Plotly; // loaded by a classic script before the page's modules
const PATH_COLOURS = { lb: "#2563eb", queue: "#d97706" };

/** A chart marker for queue scenarios and consumer faults, else whatever the LB page would mark. */
export function queueMarker(event) {
  const d = event.detail || {};
  const at = (label, tone, dash = "solid") => ({ ts: event.ts, text: label, tone, dash, title: `${event.kind}: ${label}` });
  if (event.kind === "fault.inject") {
    const action = String(d.action || "");
    const labels = {
      "queue.stop": ["consumers stopped", "fault"],
      "queue.start": ["consumers started", "recovery"],
      "queue.kill": ["kill a consumer", "fault"],
      "queue.add": [`+ ${d.node}`, "scaling"],
      "queue.remove": [`− ${d.node}`, "scaling"],
    };
    if (labels[action]) return at(...labels[action]);
    if (action === "traffic.set") {
      return at(Number(d.rate) > 0 ? `producers ${d.rate}/s` : "producers stopped", "traffic");
    }
  }
  if (event.kind === "queue.dead") return at("dead letter", "health", "dot");
  return markerForEvent(event);
}

/**
 * How fast the backlog falls, in jobs/s, from recent [ts, backlog] samples (oldest first);
 * null unless it fell over the span.
 */
export function drainRate(samples, spanMs = 3000) {
  if (samples.length < 2) return null;
  const last = samples[samples.length - 1];
  const first = samples.find((s) => s[0] >= last[0] - spanMs) || samples[0];
  const seconds = (last[0] - first[0]) / 1000;
  if (seconds <= 0 || last[1] >= first[1]) return null;
  return (first[1] - last[1]) / seconds;
}

/** Jobs/s each path can do with the current settings: {lb, queue}, null when unknown. */
export function capacities(state) {
  const work = state.traffic ? Math.max(1, state.traffic.work_ms) : null;
  if (work === null) return { lb: null, queue: null };
  const nodes = state.nodes.filter((n) => n.status === "up");
  const consumers = (state.queue?.consumers || []).filter((c) => c.status === "up");
  const lb = state.lb ? nodes.reduce((sum, n) => sum + (n.capacity * 1000) / (work + n.latency_ms), 0) : 0;
  const queue = consumers.reduce((sum, c) => sum + 1000 / (work + c.work_ms), 0);
  return { lb, queue };
}

/** The four queue charts; options: {elements: {backlog, rates, consumers, latency}}. */
export class QueueCharts extends ChartSet {
  constructor(options) {
    super(options);
    const { elements } = this.options;
    if (!this.available) return;
    this.backlog = new LiveChart({ element: elements.backlog, yTitle: "jobs" });
    this.backlog.ensure("backlog", { name: "backlog", colour: "#d97706" });
    this.backlog.ensure("pending", { name: "pending (delivered, not acked)", colour: "#7c3aed", dash: "dot" });
    this.rates = new LiveChart({ element: elements.rates, yTitle: "jobs/s" });
    this.rates.ensure("in", { name: "in (enqueued)", colour: "#2563eb" });
    this.rates.ensure("out", { name: "out (acknowledged)", colour: "#16a34a" });
    this.consumers = new LiveChart({ element: elements.consumers, yTitle: "jobs/s" });
    this.latency = new LiveChart({ element: elements.latency, yTitle: "ms" });
    this.latency.ensure("p50", { name: "p50", colour: "#0d9488" });
    this.latency.ensure("p95", { name: "p95", colour: "#d97706" });
    this.latency.ensure("p99", { name: "p99", colour: "#dc2626" });
    this.charts = [this.backlog, this.rates, this.consumers, this.latency];
  }

  /** sample: {backlog, pending, in, out, perConsumer: {id: jobs/s}, latency: {p50, p95, p99}} */
  push(ts, sample) {
    if (!this.available) return;
    this.backlog.push(ts, { backlog: sample.backlog, pending: sample.pending });
    this.rates.push(ts, { in: sample.in, out: sample.out });
    for (const id of Object.keys(sample.perConsumer)) {
      this.consumers.ensure(id, { name: id, colour: nodeColour(id) });
    }
    this.consumers.push(ts, sample.perConsumer);
    this.latency.push(ts, sample.latency || {});
  }
}

/**
 * The two side-by-side panels: latency in ms on the left axis, the same scale on both, so the
 * paths compare by eye; what happens to the excess (refusals per second, the backlog in jobs)
 * on an axis of its own on the right, so a few refusals are not flattened against 1,000 ms.
 */
export const COMPARE_PANELS = Object.freeze({
  lb: {
    yTitle: "latency p95 (ms)",
    y2Title: "refused (503/s)",
    series: [
      { key: "p95", name: "latency p95 (ms, left)", colour: PATH_COLOURS.lb, axis: "y" },
      { key: "refused", name: "refused (503/s, right)", colour: "#9333ea", dash: "dot", axis: "y2" },
    ],
  },
  queue: {
    yTitle: "latency p95 (ms)",
    y2Title: "backlog (jobs)",
    series: [
      { key: "p95", name: "latency p95 (ms, left)", colour: PATH_COLOURS.queue, axis: "y" },
      { key: "backlog", name: "backlog (jobs, right)", colour: "#57606a", dash: "dot", axis: "y2" },
    ],
  },
});

function comparePanel(element, { yTitle, y2Title, series }) {
  const chart = new LiveChart({ element, yTitle, y2Title });
  for (const { key, ...style } of series) chart.ensure(key, style);
  return chart;
}

/** The side-by-side charts: latency on one scale for both paths, what happens to the excess, distributions. */
export class CompareCharts extends ChartSet {
  constructor(options) {
    super(options);
    const { elements } = this.options;
    if (!this.available) return;
    this.distElement = elements.dist;
    this.lb = comparePanel(elements.lb, COMPARE_PANELS.lb);
    this.queue = comparePanel(elements.queue, COMPARE_PANELS.queue);
    this.charts = [this.lb, this.queue];
    this.peak = 100;
    const waiting = {
      ...this.distLayout(),
      xaxis: { visible: false },
      yaxis: { visible: false },
      annotations: [{ text: "No data yet: set the producers to send both ways", showarrow: false, font: { size: 13 } }],
    };
    Plotly.newPlot(this.distElement, [], waiting, { displayModeBar: false, responsive: true });
  }

  push(ts, { lb, queue }) {
    if (!this.available) return;
    this.lb.push(ts, lb);
    this.queue.push(ts, queue);
    // One ms scale (the left axis) for both paths, so the two panels can be compared by eye.
    this.peak = Math.max(100, this.peak * 0.995, ...[lb.p95, queue.p95].filter(Number.isFinite));
    for (const chart of this.charts) {
      chart.layout.yaxis.range = [0, this.peak * 1.1];
      chart.layout.yaxis.autorange = false;
      if (chart.element.layout) Object.assign(chart.element.layout.yaxis, { range: [0, this.peak * 1.1], autorange: false });
    }
  }

  distLayout() {
    return {
      margin: { l: 48, r: 8, t: 8, b: 36 },
      font: { size: 12, color: "#57606a" },
      barmode: "overlay",
      showlegend: true,
      legend: { orientation: "h", x: 0, y: 1.12 },
      xaxis: { title: { text: "latency (ms)" }, rangemode: "tozero", fixedrange: true },
      yaxis: { title: { text: "share of jobs" }, fixedrange: true },
    };
  }

  /** Both paths' recent latencies as overlaid histograms with the same bins. */
  drawDistributions(lbSample, queueSample) {
    if (!this.available || this.options.isHidden()) return;
    const all = [...lbSample, ...queueSample];
    const end = all.length ? Math.max(...all) : 100;
    const bins = { start: 0, end: end * 1.02 + 1, size: Math.max(1, end / 30) };
    const trace = (name, x, colour) => ({
      type: "histogram",
      name: `${name} (${x.length})`,
      x,
      xbins: bins,
      histnorm: "probability",
      opacity: 0.6,
      marker: { color: colour },
    });
    Plotly.react(
      this.distElement,
      [trace("through the LB", lbSample, PATH_COLOURS.lb), trace("through the queue", queueSample, PATH_COLOURS.queue)],
      this.distLayout(),
    );
  }
}

/** What the comparison showed so far, in a sentence with its numbers (the page fills it in). */
export class CompareTally {
  constructor() {
    this.reset();
  }

  reset() {
    Object.assign(this, { refused: 0, lbPeak: 0, queuePeak: 0, backlogPeak: 0, dropped: 0, since: null, lastTs: null });
  }

  record(state) {
    const t = state.traffic;
    const q = state.queue;
    if (!t || t.queue !== "also" || !q) {
      this.lastTs = null;
      return;
    }
    if (this.since === null) this.since = state.ts;
    if (this.lastTs !== null && t.window_s > 0) this.refused += (t.rejected / t.window_s) * ((state.ts - this.lastTs) / 1000);
    this.lastTs = state.ts;
    this.lbPeak = Math.max(this.lbPeak, t.latency_ms?.p95 || 0);
    this.queuePeak = Math.max(this.queuePeak, q.latency_ms?.p95 || 0);
    this.backlogPeak = Math.max(this.backlogPeak, q.backlog);
    this.dropped = t.queue_dropped || 0;
  }

  sentence() {
    if (this.since === null) return "Start the comparison to see both paths carry the same work.";
    const round = (n) => Math.round(n).toLocaleString("en");
    return (
      `Since the comparison started: the load-balancer path refused about ${round(this.refused)} requests (503) ` +
      `and its p95 latency peaked at ${round(this.lbPeak)} ms. The queue path refused ${round(this.dropped)}; ` +
      `its backlog peaked at ${round(this.backlogPeak)} jobs and its p95 at ${round(this.queuePeak)} ms — every job was kept and done later.`
    );
  }
}
