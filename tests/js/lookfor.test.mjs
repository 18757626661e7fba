// balancer/lookfor.js: "what to look for" describes the scenario running, true to the charts.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { importServed } from "./served.mjs";

const { lookFor, scenarioOf } = await importServed("archviz/balancer/lookfor.js");
const { ALGORITHMS } = await importServed("archviz/js/lib/algorithms.js");

const node = (id, fields = {}) => ({ id, status: "up", weight: 1, latency_ms: 0, jitter_ms: 0, ...fields });
const backend = (id, fields = {}) => ({ id, health: "healthy", ...fields });

function state({ nodes = [node("node-1"), node("node-2"), node("node-3")], backends = null, rate = 20 } = {}) {
  return {
    nodes,
    lb: { algorithm: "round_robin", backends: backends || nodes.map((n) => backend(n.id)) },
    traffic: { up: true, rate },
  };
}
const slowNode2 = () => state({ nodes: [node("node-1"), node("node-2", { latency_ms: 300 }), node("node-3")] });

describe("scenarioOf", () => {
  test("finds the slow node, the node out and uneven weights", () => {
    const nodes = [node("node-1", { weight: 3 }), node("node-2", { latency_ms: 300 }), node("node-3", { status: "down" })];
    const s = scenarioOf(state({ nodes }));
    assert.deepEqual(s.slow.map((n) => n.id), ["node-2"]);
    assert.deepEqual(s.out.map((n) => n.id), ["node-3"]);
    assert.equal(s.unevenWeights, true);
    assert.equal(s.sending, true);
  });

  test("a node the balancer's health checks took out is out although its process is up", () => {
    const nodes = [node("node-1"), node("node-2")];
    const s = scenarioOf(state({ nodes, backends: [backend("node-1"), backend("node-2", { health: "unhealthy" })] }));
    assert.deepEqual(s.out.map((n) => n.id), ["node-2"]);
  });
});

describe("lookFor", () => {
  test("least connections with a slow node-2: its share falls, fairness drops on purpose, no p95 promise", () => {
    const words = lookFor("least_connections", scenarioOf(slowNode2()));
    assert.match(words, /node-2 is slow \(\+300 ms\)/);
    assert.match(words, /share falls/);
    assert.match(words, /fairness index drops .* on purpose/i);
    assert.doesNotMatch(words, /p95 stays lower|lower than under round robin/);
    assert.match(words, /The p95 line need not fall/); // what the chart showed: p95 unchanged
  });

  test("round robin with a slow node says its share stays and latency rises", () => {
    const words = lookFor("round_robin", scenarioOf(slowNode2()));
    assert.match(words, /measures nothing/);
    assert.match(words, /p95 and p99 lines rise/);
    assert.match(words, /Fairness stays near 1/);
  });

  test("a killed node: its share drops to 0 under any algorithm", () => {
    const nodes = [node("node-1"), node("node-2", { status: "down" }), node("node-3")];
    const words = lookFor("least_latency", scenarioOf(state({ nodes })));
    assert.match(words, /node-2 is out of rotation \(node-2 down\)/);
    assert.match(words, /share drops to 0/);
  });

  test("uneven weights: weighted round robin follows them, the others ignore them", () => {
    const nodes = [node("node-1", { weight: 3 }), node("node-2"), node("node-3")];
    const s = scenarioOf(state({ nodes }));
    assert.match(lookFor("weighted_round_robin", s), /node-1 about 60%/);
    assert.match(lookFor("least_connections", s), /ignores weights/);
  });

  test("nothing special running: the even case, with the share each node gets", () => {
    assert.match(lookFor("round_robin", scenarioOf(state())), /about 33%/);
    assert.match(lookFor("consistent_hash", scenarioOf(state())), /one address/);
  });

  test("no traffic: says the charts are flat", () => {
    assert.match(lookFor("round_robin", scenarioOf(state({ rate: 0 }))), /not sending/);
  });

  test("every algorithm has words for every scenario", () => {
    const scenarios = [state(), slowNode2(), slowNode2(), state({ nodes: [node("node-1", { weight: 2 }), node("node-2")] })];
    for (const name of Object.keys(ALGORITHMS)) {
      for (const s of scenarios) {
        const words = lookFor(name, scenarioOf(s));
        assert.ok(words.length > 40 && !words.includes("undefined"), `${name}: ${words}`);
      }
    }
  });
});
