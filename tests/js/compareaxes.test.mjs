// The queue page's comparison panels: ms on the left axis, per second and backlog on their own
// axis on the right (queue/charts.js COMPARE_PANELS, lib/charts.js baseLayout and seriesTrace).
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { importServed } from "./served.mjs";

const { COMPARE_PANELS } = await importServed("archviz/queue/charts.js");
const { baseLayout, seriesTrace } = await importServed("archviz/js/lib/charts.js");

describe("the comparison panels' axes", () => {
  test("latency is on the left axis in ms; refusals and the backlog are on the right", () => {
    const axisOf = (panel) => Object.fromEntries(panel.series.map((s) => [s.key, s.axis]));
    assert.deepEqual(axisOf(COMPARE_PANELS.lb), { p95: "y", refused: "y2" });
    assert.deepEqual(axisOf(COMPARE_PANELS.queue), { p95: "y", backlog: "y2" });
  });

  test("each axis has a title with its unit", () => {
    assert.match(COMPARE_PANELS.lb.yTitle, /\(ms\)/);
    assert.match(COMPARE_PANELS.lb.y2Title, /503\/s/);
    assert.match(COMPARE_PANELS.queue.yTitle, /\(ms\)/);
    assert.match(COMPARE_PANELS.queue.y2Title, /jobs/);
  });

  test("a right-hand series is drawn on yaxis2, overlaying the first on the right side", () => {
    const { yTitle, y2Title, series } = COMPARE_PANELS.lb;
    const layout = baseLayout({ yTitle, y2Title });
    assert.equal(layout.yaxis.title.text, yTitle);
    assert.equal(layout.yaxis2.title.text, y2Title);
    assert.equal(layout.yaxis2.overlaying, "y");
    assert.equal(layout.yaxis2.side, "right");
    assert.ok(layout.margin.r >= 40, "room for the right axis' ticks and title");
    const traces = series.map(({ key, ...style }) => seriesTrace(style));
    assert.deepEqual(traces.map((t) => t.yaxis), [undefined, "y2"]);
  });

  test("a chart with one unit has no second axis", () => {
    assert.equal(baseLayout({ yTitle: "ms" }).yaxis2, undefined);
  });
});
