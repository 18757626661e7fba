// Live Plotly charts with a rolling time window, plus the pure helpers that feed them.
// Points are appended with Plotly.extendTraces (buffered while the tab is hidden); a new
// series (a node added) redraws with Plotly.react; markers are vertical lines with labels.
const Plotly = window.Plotly;

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

const MARKER_TONES = {
  algorithm: "#1d4ed8",
  fault: "#dc2626",
  health: "#b45309",
  recovery: "#15803d",
  scaling: "#7c3aed",
  traffic: "#57606a",
};

const plain = (text) => String(text).replace(/[<>&]/g, ""); // Plotly reads tags in labels

/** The chart marker a trace event deserves ({ts, text, tone, dash, title}), or null. */
export function markerForEvent(event, labelOf = (name) => name) {
  const d = event.detail || {};
  const at = (text, tone, dash = "solid") => ({
    ts: event.ts,
    text: plain(text),
    tone,
    dash,
    title: plain(`${event.kind}: ${text}`),
  });
  if (event.kind === "lb.algorithm") {
    return at(`→ ${labelOf(d.to)}`, "algorithm");
  }
  if (event.kind === "node.down") {
    return at(`${event.dst} down`, "fault", "dash");
  }
  if (event.kind === "lb.health") {
    return event.ok ? at(`LB: ${event.dst} back`, "recovery", "dot") : at(`LB: ${event.dst} out`, "health", "dot");
  }
  if (event.kind !== "fault.inject") {
    return null;
  }
  const action = String(d.action || "");
  const node = d.node || "";
  if (action.startsWith("node.") && ["kill", "stop", "restart", "pause", "resume"].includes(action.slice(5))) {
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

const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif';

function baseLayout({ yTitle, yRange = null }) {
  return {
    margin: { l: 48, r: 8, t: 8, b: 28 },
    font: { family: FONT, size: 11, color: "#57606a" },
    paper_bgcolor: "#fff",
    plot_bgcolor: "#fff",
    showlegend: true,
    legend: { orientation: "h", x: 0, y: -0.16, yanchor: "top", font: { size: 11, color: "#1f2328" } },
    hovermode: "x unified",
    xaxis: {
      type: "date",
      fixedrange: true,
      tickformat: "%H:%M:%S",
      hoverformat: "%H:%M:%S",
      gridcolor: "#eef1f4",
      linecolor: "#d8dee4",
    },
    yaxis: {
      title: { text: yTitle, font: { size: 11 } },
      gridcolor: "#eef1f4",
      zerolinecolor: "#d8dee4",
      rangemode: "tozero",
      fixedrange: true,
      ...(yRange ? { range: yRange, autorange: false } : { autorange: true }),
    },
    shapes: [],
    annotations: [],
  };
}

/** One chart: named series of (time, value) points within a rolling window, and event markers. */
export class LiveChart {
  constructor({ element, yTitle, yRange = null, maxPoints = 300, guides = [] }) {
    this.element = element;
    this.maxPoints = maxPoints;
    this.series = new Map(); // key -> {index, pending: {x: [], y: []}}
    this.guides = guides; // fixed horizontal lines: [{y, text}]
    this.layout = baseLayout({ yTitle, yRange });
    this.layout.xaxis.range = [axisTime(Date.now() - 120_000), axisTime(Date.now())]; // until the first render
    this.markersChanged = false;
    this.markerShapes = [];
    this.markerLabels = [];
    Plotly.newPlot(element, [], this.layout, { displayModeBar: false, responsive: true });
  }

  /** Make sure a series exists (drawn with `style`); a new one redraws the chart with Plotly.react. */
  ensure(key, { name, colour, dash = "solid", width = 2 }) {
    if (this.series.has(key)) {
      return;
    }
    const trace = {
      x: [],
      y: [],
      name: plain(name),
      type: "scatter",
      mode: "lines",
      line: { color: colour, width, dash },
      connectgaps: false,
      hovertemplate: "%{y:.2f}",
    };
    this.series.set(key, { index: this.element.data.length, pending: { x: [], y: [] } });
    Plotly.react(this.element, [...this.element.data, trace], this.currentLayout());
  }

  /** Queue one point per series; a missing value leaves a gap. */
  push(ts, values) {
    const x = axisTime(ts);
    for (const [key, s] of this.series) {
      const value = values[key];
      s.pending.x.push(x);
      s.pending.y.push(Number.isFinite(value) ? value : null);
    }
  }

  setMarkers(markers) {
    const rows = [0.99, 0.88, 0.77, 0.66];
    this.markerShapes = markers.map((m) => ({
      type: "line",
      xref: "x",
      yref: "paper",
      x0: axisTime(m.ts),
      x1: axisTime(m.ts),
      y0: 0,
      y1: 1,
      line: { color: MARKER_TONES[m.tone] || "#57606a", width: 1.5, dash: m.dash },
      layer: "above",
    }));
    this.markerLabels = markers.map((m) => ({
      x: axisTime(m.ts),
      xref: "x",
      y: rows[m.row % rows.length],
      yref: "paper",
      text: m.text,
      hovertext: m.title,
      showarrow: false,
      xanchor: "right", // to the left of its line: the newest labels are never cut off
      yanchor: "top",
      xshift: -2,
      font: { size: 10, color: MARKER_TONES[m.tone] || "#57606a" },
      bgcolor: "rgba(255,255,255,0.85)",
    }));
    this.markersChanged = true;
  }

  currentLayout() {
    const guides = this.guides.map((g) => ({
      type: "line",
      xref: "paper",
      x0: 0,
      x1: 1,
      yref: "y",
      y0: g.y,
      y1: g.y,
      line: { color: "#9aa4af", width: 1, dash: "dot" },
    }));
    return { ...this.layout, shapes: [...guides, ...this.markerShapes], annotations: this.markerLabels };
  }

  /**
   * Draw what was queued and scroll the window so that it ends at nowTs. One Plotly call per
   * redraw (each costs tens of milliseconds): extendTraces redraws from the element's own
   * layout, so the new range and markers are written into it first.
   */
  render(nowTs, windowMs) {
    const range = [axisTime(nowTs - windowMs), axisTime(nowTs)];
    this.layout.xaxis.range = range;
    const layout = this.currentLayout();
    const withPoints = [...this.series.values()].filter((s) => s.pending.x.length > 0);
    if (withPoints.length === 0) {
      Plotly.relayout(this.element, { "xaxis.range": range, shapes: layout.shapes, annotations: layout.annotations });
      this.markersChanged = false;
      return;
    }
    Object.assign(this.element.layout.xaxis, { range, autorange: false });
    if (this.markersChanged) {
      Object.assign(this.element.layout, { shapes: layout.shapes, annotations: layout.annotations });
      this.markersChanged = false;
    }
    Plotly.extendTraces(
      this.element,
      { x: withPoints.map((s) => s.pending.x), y: withPoints.map((s) => s.pending.y) },
      withPoints.map((s) => s.index),
      this.maxPoints,
    );
    for (const s of withPoints) s.pending = { x: [], y: [] };
  }

  /** Points queued while the tab was hidden, trimmed to what the window can show. */
  trimPending() {
    for (const s of this.series.values()) {
      const extra = s.pending.x.length - this.maxPoints;
      if (extra > 0) {
        s.pending.x.splice(0, extra);
        s.pending.y.splice(0, extra);
      }
    }
  }
}

const DEFAULTS = {
  elements: {}, // {rps, latency, errors, fairness}: the chart divs
  windowMs: 120_000,
  isHidden: () => document.hidden,
};

/** The four charts of the load-balancer page, sharing one clock and one set of markers. */
export class LbCharts {
  constructor(options) {
    this.options = { ...DEFAULTS, ...options };
    this.available = Boolean(Plotly);
    this.markers = [];
    if (!this.available) {
      for (const el of Object.values(this.options.elements)) {
        el.textContent = "Charts unavailable: Plotly did not load.";
        el.classList.add("chart-missing");
      }
      return;
    }
    const { rps, latency, errors, fairness } = this.options.elements;
    this.rps = new LiveChart({ element: rps, yTitle: "requests/s" });
    this.latency = new LiveChart({ element: latency, yTitle: "ms" });
    this.latency.ensure("p50", { name: "p50", colour: "#0d9488" });
    this.latency.ensure("p95", { name: "p95", colour: "#d97706" });
    this.latency.ensure("p99", { name: "p99", colour: "#dc2626" });
    this.errors = new LiveChart({ element: errors, yTitle: "per second" });
    this.errors.ensure("rejected", { name: "rejected (503, over capacity)", colour: "#9333ea" });
    this.errors.ensure("failed", { name: "failed (errors, timeouts)", colour: "#dc2626" });
    this.errors.ensure("noBackend", { name: "no healthy node (LB 503)", colour: "#57606a", dash: "dot" });
    this.fairness = new LiveChart({ element: fairness, yTitle: "Jain's index", yRange: [0, 1.08], guides: [{ y: 1 }] });
    this.fairness.ensure("index", { name: "fairness of the load per unit of weight", colour: "#1d4ed8" });
    this.charts = [this.rps, this.latency, this.errors, this.fairness];
  }

  /** One sample: {rps: {node: r/s}, latency: {p50, p95, p99}, errors: {...}, fairness} (missing parts: gaps). */
  push(ts, sample) {
    if (!this.available) return;
    for (const id of Object.keys(sample.rps || {})) {
      this.rps.ensure(id, { name: id, colour: nodeColour(id) });
    }
    this.rps.push(ts, sample.rps || {});
    this.latency.push(ts, sample.latency || {});
    this.errors.push(ts, sample.errors || {});
    this.fairness.push(ts, { index: sample.fairness });
  }

  /** Add a marker; labels close together in time take turns on four rows so they do not overlap. */
  mark(marker, nowTs) {
    if (!this.available || this.markers.some((m) => m.ts === marker.ts && m.text === marker.text)) return;
    // Labels sit left of their line, about 7 px a character on a plot some 400 px wide.
    const overlaps = (m) =>
      Math.abs(m.ts - marker.ts) < (Math.max(m.text.length, marker.text.length) * 7 * this.options.windowMs) / 400;
    const recent = this.markers.filter(overlaps);
    const used = new Set(recent.map((m) => m.row));
    const row = [0, 1, 2, 3].find((r) => !used.has(r)) ?? recent.length % 4;
    this.markers.push({ ...marker, row });
    this.markers.sort((a, b) => a.ts - b.ts);
    this.pruneMarkers(nowTs);
  }

  pruneMarkers(nowTs) {
    const { windowMs } = this.options;
    this.markers = this.markers.filter((m) => m.ts >= nowTs - windowMs);
    for (const chart of this.charts) chart.setMarkers(this.markers);
  }

  /**
   * Redraw one chart per call, in turn (call it four times a second: each chart redraws once a
   * second, and no single task holds the page up for long). While the tab is hidden the charts
   * keep their points and catch up on return.
   */
  render(nowTs) {
    if (!this.available) return;
    if (this.markers.length > 0 && this.markers[0].ts < nowTs - this.options.windowMs) {
      this.pruneMarkers(nowTs);
    }
    this.turn = ((this.turn ?? -1) + 1) % this.charts.length;
    const chart = this.charts[this.turn];
    if (this.options.isHidden()) chart.trimPending();
    else chart.render(nowTs, this.options.windowMs);
  }
}
