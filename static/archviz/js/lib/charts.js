// One live Plotly chart with a rolling time window. Points are appended with
// Plotly.extendTraces (buffered while the tab is hidden); a new series (a node added)
// redraws with Plotly.react; markers are vertical lines, laid out by markers.js.
import { axisTime, plainLabel } from "./chartdata.js";
import { layoutMarkers, markerDecorations } from "./markers.js";

const Plotly = globalThis.Plotly; // loaded by a classic script before the page's modules

const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif';

/**
 * A live chart's Plotly layout. With y2Title, series drawn on "y2" get an axis of their own on
 * the right, so a series in other units (per second beside ms) is not flattened by the first.
 */
export function baseLayout({ yTitle, yRange = null, y2Title = null }) {
  const right = y2Title
    ? {
        yaxis2: {
          title: { text: y2Title, font: { size: 12 } },
          overlaying: "y",
          side: "right",
          showgrid: false,
          zerolinecolor: "#d8dee4",
          rangemode: "tozero",
          fixedrange: true,
          autorange: true,
        },
      }
    : {};
  return {
    margin: { l: 48, r: y2Title ? 52 : 8, t: 8, b: 28 },
    font: { family: FONT, size: 12, color: "#57606a" },
    paper_bgcolor: "#fff",
    plot_bgcolor: "#fff",
    showlegend: true,
    legend: { orientation: "h", x: 0, y: -0.16, yanchor: "top", font: { size: 12, color: "#1f2328" } },
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
      title: { text: yTitle, font: { size: 12 } },
      gridcolor: "#eef1f4",
      zerolinecolor: "#d8dee4",
      rangemode: "tozero",
      fixedrange: true,
      ...(yRange ? { range: yRange, autorange: false } : { autorange: true }),
    },
    ...right,
    shapes: [],
    annotations: [],
  };
}

/** The Plotly trace of one series; `axis: "y2"` draws it on the right-hand axis. */
export function seriesTrace({ name, colour, dash = "solid", width = 2, axis = "y" }) {
  return {
    x: [],
    y: [],
    name: plainLabel(name),
    type: "scatter",
    mode: "lines",
    line: { color: colour, width, dash },
    connectgaps: false,
    hovertemplate: "%{y:.2f}",
    ...(axis === "y2" ? { yaxis: "y2" } : {}),
  };
}

/** One chart: named series of (time, value) points within a rolling window, and event markers. */
export class LiveChart {
  constructor({ element, yTitle, yRange = null, y2Title = null, maxPoints = 300, guides = [], windowMs = 120_000 }) {
    this.element = element;
    this.windowMs = windowMs; // for the markers: how close in time collapses into one
    this.maxPoints = maxPoints;
    this.series = new Map(); // key -> {index, pending: {x: [], y: []}}
    this.guides = guides; // fixed horizontal lines: [{y, text}]
    this.layout = baseLayout({ yTitle, yRange, y2Title });
    this.layout.xaxis.range = [axisTime(Date.now() - 120_000), axisTime(Date.now())]; // until the first render
    this.markersChanged = false;
    this.markerShapes = [];
    this.markerLabels = [];
    Plotly.newPlot(element, [], this.layout, { displayModeBar: false, responsive: true });
  }

  /** Make sure a series exists (drawn with `style`); a new one redraws the chart with Plotly.react. */
  ensure(key, style) {
    if (this.series.has(key)) {
      return;
    }
    const trace = seriesTrace(style);
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

  /** The markers in the window ({ts, text, tone, dash, title}); close ones collapse, the newest 3 are labelled. */
  setMarkers(markers) {
    const { shapes, annotations } = markerDecorations(layoutMarkers(markers, { windowMs: this.windowMs }), axisTime);
    this.markerShapes = shapes;
    this.markerLabels = annotations;
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

const SET_DEFAULTS = {
  elements: {}, // the page's chart divs, by name
  windowMs: 120_000,
  isHidden: () => document.hidden,
};

/**
 * A page's live charts on one clock with one set of markers (the LB, queue and overload
 * pages'): a subclass makes its LiveCharts into `this.charts` when `available`. Without Plotly
 * every div says so instead of staying blank.
 */
export class ChartSet {
  constructor(options) {
    this.options = { ...SET_DEFAULTS, ...options };
    this.available = Boolean(Plotly);
    this.markers = [];
    this.charts = [];
    if (!this.available) {
      for (const element of Object.values(this.options.elements)) {
        element.textContent = "Charts unavailable: Plotly did not load.";
        element.classList.add("chart-missing");
      }
    }
  }

  /** Add a marker once (each chart collapses close ones and labels the newest: markers.js). */
  mark(marker, nowTs) {
    if (!this.available || !marker) return;
    const same = (m) => m.ts === marker.ts && m.text === marker.text && m.title === marker.title;
    if (this.markers.some(same)) return;
    this.markers.push(marker);
    this.markers.sort((a, b) => a.ts - b.ts);
    this.pruneMarkers(nowTs);
  }

  pruneMarkers(nowTs) {
    this.markers = this.markers.filter((m) => m.ts >= nowTs - this.options.windowMs);
    for (const chart of this.charts) chart.setMarkers(this.markers);
  }

  /**
   * Redraw one chart per call, in turn (called a few times a second, each chart redraws about
   * once a second and no single task holds the page up for long). While the tab is hidden the
   * charts keep their points and catch up on return.
   */
  render(nowTs) {
    if (!this.available || this.charts.length === 0) return;
    if (this.markers.length > 0 && this.markers[0].ts < nowTs - this.options.windowMs) {
      this.pruneMarkers(nowTs);
    }
    this.turn = ((this.turn ?? -1) + 1) % this.charts.length;
    const chart = this.charts[this.turn];
    if (this.options.isHidden()) chart.trimPending();
    else chart.render(nowTs, this.options.windowMs);
  }
}
