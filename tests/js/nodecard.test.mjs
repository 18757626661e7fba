// balancer/nodecard.js: the balancer's line on a node card keeps refusals apart from errors.
import assert from "node:assert/strict";
import { test } from "node:test";

import { importServed } from "./served.mjs";

const { balancerLine } = await importServed("archviz/balancer/nodecard.js");

test("503s at capacity are shown as refused, not as errors", () => {
  const line = balancerLine({ in_flight: 2, refused_total: 37, errors_total: 1, ewma_ms: 51.4 });
  assert.equal(line, "LB: waiting on 2 · 37 refused (503 at capacity) · 1 error · ~51 ms");
});

test("a balancer that does not count refusals yet shows 0 refused", () => {
  assert.match(balancerLine({ in_flight: 0, errors_total: 0, ewma_ms: 0 }), /0 refused .* 0 errors/);
});

const { restartedCaption } = await importServed("archviz/balancer/nodecard.js");
const node = (id, extra) => ({ id, status: "up", restarts: 0, websockets: 0, ...extra });

test("a restarted node with no WebSocket, while the others hold its clients, says why", () => {
  const restarted = node("node-2", { restarts: 1 });
  const nodes = [node("node-1", { websockets: 6 }), restarted, node("node-3", { websockets: 4 })];
  const caption = restartedCaption(restarted, nodes);
  assert.match(caption, /^Restarted: its WebSocket clients reconnected to the other nodes and stay there/);
  assert.match(caption, /\(10 open on them\)/);
  assert.match(caption, /stateful/);
});

test("no caption while it is not the case", () => {
  const others = [node("node-1", { websockets: 6 })];
  assert.equal(restartedCaption(node("node-2"), [...others]), "", "never restarted");
  assert.equal(restartedCaption(node("node-2", { restarts: 1, websockets: 2 }), others), "", "has clients again");
  assert.equal(restartedCaption(node("node-2", { restarts: 1, status: "down" }), others), "", "not up");
  const alone = node("node-2", { restarts: 1 });
  assert.equal(restartedCaption(alone, [node("node-1"), alone]), "", "no WebSocket anywhere");
});
