// balancer/traffic.js: the LB page never says "sending" while the arrivals go to the queue only.
import assert from "node:assert/strict";
import { test } from "node:test";

import { importServed } from "./served.mjs";

const { clientState, trafficChip } = await importServed("archviz/balancer/traffic.js");
const { lookFor, scenarioOf } = await importServed("archviz/balancer/lookfor.js");

const traffic = (extra) => ({ up: true, rate: 20, queue: "off", ...extra });

test("through the balancer it is sending, with its rate on the chip", () => {
  assert.deepEqual(clientState(traffic()), { state: "sending", word: "sending" });
  assert.deepEqual(trafficChip(traffic()), { state: "sending", word: "sending 20 req/s" });
  assert.equal(trafficChip(traffic({ queue: "also" })).word, "sending 20 req/s, also queued");
});

test("queue only: the arrivals go to the queue, none to the balancer, and nothing says sending", () => {
  const only = traffic({ queue: "only" });
  assert.deepEqual(clientState(only), {
    state: "queue-only",
    word: "arrivals go to the queue only, none to the balancer",
  });
  assert.equal(trafficChip(only).word, "to the queue only, not the balancer");
  const state = { traffic: only, nodes: [], lb: { backends: [] } };
  const scenario = scenarioOf(state);
  assert.equal(scenario.sending, false);
  assert.match(lookFor("round_robin", scenario), /go to the queue only/);
});

test("stopped or not running", () => {
  assert.equal(clientState(traffic({ rate: 0, queue: "only" })).state, "idle");
  assert.equal(trafficChip(null).word, "not running");
  assert.equal(trafficChip(traffic({ rate: 0 })).word, "stopped");
});
