// chartdata.js: the numbers and markers the live charts draw.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  CounterHistory,
  axisTime,
  jainIndex,
  markerForEvent,
  nodeColour,
  plainLabel,
  sharesOf,
} from "../../static/archviz/js/lib/chartdata.js";

describe("jainIndex", () => {
  test("is 1 when every node has the same load", () => {
    assert.equal(jainIndex([5, 5, 5]), 1);
  });

  test("is 1/n when one node has everything", () => {
    assert.equal(jainIndex([9, 0, 0]), 1 / 3);
    assert.equal(jainIndex([0, 4, 0, 0]), 1 / 4);
  });

  test("lies between for an uneven split", () => {
    // (1 + 3)^2 / (2 * (1 + 9)) = 0.8
    assert.equal(jainIndex([1, 3]), 0.8);
  });

  test("ignores values that are not loads, and needs two of them", () => {
    assert.equal(jainIndex([2, 2, -1, Number.NaN, Infinity]), 1);
    assert.equal(jainIndex([7]), null);
    assert.equal(jainIndex([0, 0]), null);
    assert.equal(jainIndex([]), null);
  });
});

describe("sharesOf", () => {
  test("is each key's fraction of the total", () => {
    assert.deepEqual(sharesOf({ "node-1": 1, "node-2": 3 }), { "node-1": 0.25, "node-2": 0.75 });
  });

  test("counts a negative as nothing", () => {
    assert.deepEqual(sharesOf({ a: -5, b: 2 }), { a: 0, b: 1 });
  });

  test("is null when nothing was counted", () => {
    assert.equal(sharesOf({ a: 0, b: 0 }), null);
    assert.equal(sharesOf({}), null);
  });
});

describe("nodeColour", () => {
  test("node-N keeps its colour, and the palette repeats after eight", () => {
    assert.equal(nodeColour("node-1"), nodeColour("node-9"));
    assert.notEqual(nodeColour("node-1"), nodeColour("node-2"));
    assert.match(nodeColour("node-3"), /^#[0-9a-f]{6}$/);
  });

  test("a name without a number still gets the same colour every time", () => {
    assert.equal(nodeColour("gateway"), nodeColour("gateway"));
    assert.match(nodeColour("gateway"), /^#[0-9a-f]{6}$/);
  });
});

describe("CounterHistory", () => {
  test("turns monotonic counters into per-second rates over a window", () => {
    const history = new CounterHistory();
    history.record(0, { "node-1": 0, "node-2": 10 });
    history.record(1000, { "node-1": 5, "node-2": 10 });
    history.record(2000, { "node-1": 15, "node-2": 30 });
    assert.deepEqual(history.ratesOver(1000), { "node-1": 10, "node-2": 20 });
    assert.deepEqual(history.ratesOver(5000), { "node-1": 7.5, "node-2": 10 });
    assert.equal(history.latestTs, 2000);
  });

  test("a counter that went down (its process restarted) starts the history again", () => {
    const history = new CounterHistory();
    history.record(0, { "node-1": 100 });
    history.record(1000, { "node-1": 200 });
    history.record(2000, { "node-1": 3 });
    assert.deepEqual(history.ratesOver(5000), {}, "one sample: no rate yet");
    history.record(3000, { "node-1": 13 });
    assert.deepEqual(history.ratesOver(5000), { "node-1": 10 });
  });

  test("an out-of-order sample is ignored, and old ones are forgotten", () => {
    const history = new CounterHistory({ keepMs: 2000 });
    for (const ts of [0, 1000, 2000, 3000, 4000]) history.record(ts, { n: ts / 100 });
    history.record(3500, { n: 0 });
    assert.equal(history.latestTs, 4000);
    assert.deepEqual(
      history.samples.map((s) => s.ts),
      [2000, 3000, 4000],
      "the oldest kept sample is the last one at least keepMs old",
    );
    history.clear();
    assert.equal(history.latestTs, -Infinity);
  });
});

describe("markerForEvent", () => {
  const event = (kind, detail = {}, extra = {}) => ({ kind, ts: 1000, ok: true, dst: "node-2", detail, ...extra });

  test("an instructor's kill is a fault, a restart a recovery", () => {
    const kill = markerForEvent(event("fault.inject", { action: "node.kill", node: "node-2" }));
    assert.deepEqual(kill, {
      ts: 1000,
      text: "kill node-2",
      tone: "fault",
      dash: "solid",
      title: "fault.inject: kill node-2",
    });
    assert.equal(markerForEvent(event("fault.inject", { action: "node.restart", node: "node-1" })).tone, "recovery");
  });

  test("a node's new settings are spelt out", () => {
    const marker = markerForEvent(event("fault.inject", { action: "node.config", node: "node-1", latency_ms: 300, weight: 3 }));
    assert.equal(marker.text, "node-1 +300 ms w 3");
    assert.equal(marker.tone, "scaling");
  });

  test("the balancer's algorithm switch is labelled by the page's own names", () => {
    const marker = markerForEvent(event("lb.algorithm", { to: "random" }), (name) => name.toUpperCase());
    assert.equal(marker.text, "→ RANDOM");
  });

  test("health changes and traffic settings are marked; ordinary traffic is not", () => {
    assert.equal(markerForEvent(event("lb.health", {}, { ok: false })).text, "LB: node-2 out");
    assert.equal(markerForEvent(event("lb.health", {}, { ok: true })).tone, "recovery");
    // a gateway replica's health, from the balancer's gateway listener, is not a node's
    assert.equal(markerForEvent(event("lb.health", {}, { ok: true, demo: "gateway" })), null);
    assert.equal(markerForEvent(event("fault.inject", { action: "traffic.set", rate: 0 })).text, "traffic stopped");
    assert.equal(markerForEvent(event("lb.route")), null);
    assert.equal(markerForEvent(event("fault.inject", { action: "node.explode" })), null);
  });

  test("a label cannot smuggle markup into Plotly", () => {
    assert.equal(plainLabel("<b>node</b> & co"), "bnode/b  co");
    const marker = markerForEvent(event("fault.inject", { action: "node.kill", node: "<img src=x>" }));
    assert.equal(marker.text, "kill img src=x");
  });
});

test("axisTime shifts unix ms by the local offset, so Plotly's UTC axis shows local time", () => {
  const ts = Date.UTC(2024, 0, 15, 12, 0, 0);
  assert.equal(axisTime(ts), ts - new Date(ts).getTimezoneOffset() * 60_000);
});
