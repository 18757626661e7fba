// The LB and queue pages' events panels list their own page's events only (balancer/events.js,
// queue/events.js): every page gets every event of the lab.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { importServed } from "./served.mjs";

const { lbLogged } = await importServed("archviz/balancer/events.js");
const { queueLogged } = await importServed("archviz/queue/events.js");
const { componentOf } = await importServed("archviz/js/lib/tracelog.js");

const event = (kind, fields = {}) => ({ kind, src: "x", dst: "y", demo: "lab", ok: true, detail: {}, ...fields });
const fault = (action, node) => event("fault.inject", { dst: "supervisor", detail: { action, node } });
const NODES = new Set(["node-1", "node-2"]);
const CONSUMERS = new Set(["consumer-1", "consumer-2"]);

// What another demo traces: none of it belongs in the LB page's list, most not in the queue's.
const CHAT_AND_SESSIONS = [
  event("chat.send"),
  event("chat.deliver"),
  event("pubsub.publish"),
  event("pubsub.deliver"),
  event("presence.join"),
  event("ws.open"),
  event("session.read"),
  event("session.write"),
  event("gateway.deny"),
  event("auth.issue"),
  event("shed.reject"),
  event("http.request"),
];
const QUEUE_TRAFFIC = ["queue.enqueue", "queue.deliver", "queue.ack"].map((k) => event(k));

describe("the LB page's events panel", () => {
  test("lists faults, health changes, algorithm switches and its nodes coming and going", () => {
    for (const e of [
      event("lb.algorithm", { demo: "lb" }),
      event("lb.health", { demo: "lb", dst: "node-2", ok: false }),
      event("lb.reject", { demo: "lb" }),
      event("node.down", { dst: "node-2" }),
      event("node.up", { src: "node-1", dst: "redis" }),
      event("node.start", { dst: "lb" }),
      event("redis.down"),
      fault("node.kill", "node-2"),
      fault("node.config", "node-1"),
      fault("node.add", "node-9"), // not in the state yet
      fault("lb.algorithm"),
      fault("traffic.set"),
    ]) {
      assert.equal(lbLogged(e, NODES), true, JSON.stringify(e));
    }
  });

  test("does not list queue acks and deliveries, chat, sessions or routing", () => {
    for (const e of [...QUEUE_TRAFFIC, ...CHAT_AND_SESSIONS, event("lb.route"), event("queue.dead")]) {
      assert.equal(lbLogged(e, NODES), false, e.kind);
    }
  });

  test("does not list other components coming and going, nor faults on them", () => {
    for (const e of [
      event("node.down", { dst: "consumer-1" }),
      event("node.up", { src: "consumer-2", dst: "redis" }),
      event("node.start", { dst: "chatbots" }),
      event("trace.dropped", { src: "gateway-1", dst: "redis" }),
      fault("node.kill", "consumer-1"),
      fault("queue.stop"),
      fault("chat.mode"),
      event("lb.health", { demo: "gateway", dst: "gateway-1" }), // the gateway page's listener
      event("lb.health", { demo: "dashboard", dst: "dashboard-2" }), // a class's dashboards
      event("lb.reject", { demo: "dashboard", dst: "client" }),
      event("node.down", { dst: "dashboard-1" }),
    ]) {
      assert.equal(lbLogged(e, NODES), false, JSON.stringify(e));
    }
  });
});

describe("the queue page's events panel", () => {
  test("lists scenarios, consumers coming and going, redeliveries and dead letters", () => {
    for (const e of [
      event("queue.redeliver"),
      event("queue.dead"),
      event("queue.fail"),
      event("queue.duplicate"),
      event("node.down", { dst: "consumer-1" }),
      event("node.up", { src: "consumer-2", dst: "redis" }),
      event("redis.up"),
      fault("queue.stop"),
      fault("queue.add", "consumer-3"),
      fault("node.kill", "consumer-1"),
      fault("traffic.set"),
    ]) {
      assert.equal(queueLogged(e, CONSUMERS), true, JSON.stringify(e));
    }
  });

  test("does not list chat and session events, ordinary job hops, or the balancer's", () => {
    for (const e of [
      ...CHAT_AND_SESSIONS,
      ...QUEUE_TRAFFIC,
      event("lb.route"),
      event("lb.health", { dst: "node-2" }),
      event("lb.algorithm"),
      event("node.down", { dst: "node-2" }),
      fault("node.kill", "node-2"),
      fault("lb.algorithm"),
    ]) {
      assert.equal(queueLogged(e, CONSUMERS), false, JSON.stringify(e));
    }
  });
});

test("a lifecycle event is about its source when the component itself reports it", () => {
  assert.equal(componentOf(event("node.up", { src: "node-1", dst: "redis" })), "node-1");
  assert.equal(componentOf(event("trace.dropped", { src: "node-1", dst: "redis" })), "node-1");
  assert.equal(componentOf(event("node.down", { src: "supervisor", dst: "node-1" })), "node-1");
});
