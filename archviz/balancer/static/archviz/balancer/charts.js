// The four charts of the load-balancer page: requests/s per node, latency percentiles,
// errors and fairness, on one clock with one set of markers.
import { nodeColour } from "../js/lib/chartdata.js";
import { ChartSet, LiveChart } from "../js/lib/charts.js";

/** The four charts of the load-balancer page, sharing one clock and one set of markers;
 * options: {elements: {rps, latency, errors, fairness}, windowMs, isHidden}. */
export class LbCharts extends ChartSet {
  constructor(options) {
    super(options);
    if (!this.available) return;
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
}
