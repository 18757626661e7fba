// lib/charts.js ChartSet: what the LB, queue and overload pages' chart sets share.
import assert from "node:assert/strict";
import { test } from "node:test";

import { importServed } from "./served.mjs";

globalThis.Plotly = {}; // read when lib/charts.js loads: charts "available"
const { ChartSet } = await importServed("archviz/js/lib/charts.js");

/** A chart that records what the set asks of it. */
function fakeChart() {
  return { marks: [], renders: 0, trims: 0, setMarkers(m) { this.marks = [...m]; }, render() { this.renders += 1; }, trimPending() { this.trims += 1; } };
}

function chartSet(hidden = false) {
  const set = new ChartSet({ windowMs: 10_000, isHidden: () => hidden });
  set.charts = [fakeChart(), fakeChart()];
  return set;
}

test("a marker is added once, every chart gets them, oldest first, and old ones leave", () => {
  const set = chartSet();
  const at = (ts, text) => ({ ts, text, title: text });
  set.mark(at(5000, "b"), 5000);
  set.mark(at(1000, "a"), 5000);
  set.mark(at(5000, "b"), 5000);
  set.mark(null, 5000);
  assert.deepEqual(set.charts[1].marks.map((m) => m.text), ["a", "b"]);
  set.mark(at(12_000, "c"), 12_000);
  assert.deepEqual(set.charts[0].marks.map((m) => m.text), ["b", "c"]);
  set.render(20_000); // the window moved on: b is more than 10 s old now
  assert.deepEqual(set.charts[0].marks.map((m) => m.text), ["c"]);
});

test("render redraws one chart per call, in turn; a hidden tab only trims", () => {
  const set = chartSet();
  for (let i = 0; i < 3; i += 1) set.render(1000);
  assert.deepEqual(set.charts.map((c) => c.renders), [2, 1]);
  const hidden = chartSet(true);
  hidden.render(1000);
  assert.deepEqual(hidden.charts.map((c) => [c.renders, c.trims]), [[0, 1], [0, 0]]);
});
