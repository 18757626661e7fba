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
