// The pure rules inside the demos' own modules, imported as the browser gets them (served.mjs).
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { importServed } from "./served.mjs";

const cart = await importServed("archviz/sessions/cart.js");
const chat = await importServed("archviz/chat/client.js");
const dots = await importServed("archviz/balancer/dots.js");
const queueCharts = await importServed("archviz/queue/charts.js");
const queueView = await importServed("archviz/queue/view.js");

describe("sessions: what happened to the cart", () => {
  const answer = (fields) => ({ node: "node-2", where: "node-2's memory", found: true, items: 0, ...fields });

  test("a node that finds the session with every item kept the cart", () => {
    const result = cart.cartOutcome(2, answer({ items: 3 }), true);
    assert.equal(result.outcome, "kept");
    assert.equal(result.want, 3);
    assert.match(result.text, /Cart kept: node-2 .* with 3 items\./);
  });

  test("a node without the session lost a cart that held something", () => {
    const result = cart.cartOutcome(2, answer({ found: false, items: 1, write: { created: true } }), true);
    assert.equal(result.outcome, "lost");
    assert.match(result.text, /You had 2 items; it shows 1 item\. It started a new session\./);
  });

  test("a session with fewer items than added is partial; nothing ever added is empty", () => {
    assert.equal(cart.cartOutcome(3, answer({ items: 1 })).outcome, "partial");
    assert.equal(cart.cartOutcome(0, answer({ found: false, items: 0 })).outcome, "empty");
  });

  test("a request's session work in one line", () => {
    assert.equal(
      cart.describeRequest(answer({ items: 1, session: "abc", write: { created: true } })),
      "found in node-2's memory · new session abc in node-2's memory · 1 item",
    );
    assert.equal(
      cart.describeRequest(answer({ found: false, looked_up: false, items: 0 })),
      "no session cookie yet: nothing to look up · 0 items",
    );
  });

  test("a trace id is 16 hex digits from the random source", () => {
    const fixed = { getRandomValues: (bytes) => bytes.fill(171) };
    assert.equal(cart.newTraceId(fixed), "abababababababab");
    assert.match(cart.newTraceId(), /^[0-9a-f]{16}$/);
  });
});

describe("chat: the client's URLs and frames", () => {
  test("the socket URL goes to the load balancer, escaped, with the last sequence seen", () => {
    assert.equal(
      chat.chatSocketUrl("http://127.0.0.1:8100", "lobby", "ana b", 41),
      "ws://127.0.0.1:8100/ws/chat/lobby/?user=ana+b&after=41",
    );
    assert.equal(chat.chatSocketUrl("https://lab.example:8100", "a/b", "x", null), "wss://lab.example:8100/ws/chat/a%2Fb/?user=x");
  });

  test("the load balancer is on the host that served the page", () => {
    assert.equal(chat.lbBaseUrl(8100, { protocol: "http:", hostname: "10.0.0.5" }), "http://10.0.0.5:8100");
  });

  test("a chat frame must be JSON with a known type", () => {
    assert.deepEqual(chat.parseChatFrame('{"type": "message", "seq": 1}'), { type: "message", seq: 1 });
    assert.throws(() => chat.parseChatFrame("{oops"), /not JSON/);
    assert.throws(() => chat.parseChatFrame('{"type": "state"}'), /unknown chat frame "state"/);
    const refused = '{"type": "overloaded", "node": "node-2", "retry_after_ms": 1000}';
    assert.equal(chat.parseChatFrame(refused).type, "overloaded"); // no error toast
    assert.equal(chat.parseChatFrame('{"type": "shed", "retry_after_ms": 5000}').type, "shed");
    assert.equal(
      chat.overloadWords(JSON.parse(refused)),
      "node-2 is overloaded and refused this tab; reconnecting in 1.0 s or later",
    );
    assert.equal(chat.overloadWords({ type: "shed" }), "a node is overloaded and shed this tab");
    assert.throws(() => chat.parseChatFrame("null"), /unknown chat frame/);
  });
});

describe("balancer: a routed request's dot", () => {
  test("the outcome the balancer reported wins; else rejected for a 503, ok or failed", () => {
    assert.equal(dots.outcomeOf({ kind: "lb.route", ok: true, detail: { outcome: "queued" } }), "queued");
    assert.equal(dots.outcomeOf({ kind: "lb.reject", ok: false, detail: {} }), "rejected");
    assert.equal(dots.outcomeOf({ kind: "lb.route", ok: false, detail: { outcome: "bogus" } }), "failed");
    assert.equal(dots.outcomeOf({ kind: "lb.route", ok: true }), "ok");
  });

  test("a request was answered its duration after it was routed", () => {
    assert.equal(dots.answeredAt({ ts: 1000, ms: 25.5 }), 1025.5);
    assert.equal(dots.answeredAt({ ts: 1000, ms: null }), 1000);
  });
});

describe("queue: dots, markers and rates", () => {
  test("each job event's dot goes between the right boxes", () => {
    assert.deepEqual(queueView.dotRoute({ kind: "queue.enqueue", src: "producer", dst: "queue" }), ["producers", "queue", "dot-enqueue"]);
    assert.deepEqual(queueView.dotRoute({ kind: "queue.deliver", src: "redis", dst: "consumer-2" }), ["queue", "consumer:consumer-2", "dot-deliver"]);
    assert.deepEqual(queueView.dotRoute({ kind: "queue.ack", src: "consumer-1", dst: "redis" }), ["consumer:consumer-1", "queue", "dot-ack"]);
    assert.equal(queueView.dotRoute({ kind: "lb.route", src: "lb", dst: "node-1" }), null);
  });

  test("counts are grouped in thousands; unknown is a dash", () => {
    assert.equal(queueView.count(12345.4), "12,345");
    assert.equal(queueView.count(undefined), "—");
  });

  test("the backlog's drain rate is measured over the recent span, only while it falls", () => {
    assert.equal(queueCharts.drainRate([[0, 100], [1000, 80], [2000, 60]]), 20);
    assert.equal(queueCharts.drainRate([[0, 10], [1000, 30]]), null, "growing");
    assert.equal(queueCharts.drainRate([[0, 10]]), null);
  });

  test("each path's capacity follows from the up nodes and consumers", () => {
    const state = {
      traffic: { work_ms: 10 },
      lb: {},
      nodes: [
        { status: "up", capacity: 2, latency_ms: 10 },
        { status: "down", capacity: 8, latency_ms: 0 },
      ],
      queue: { consumers: [{ status: "up", work_ms: 40 }, { status: "stopped", work_ms: 0 }] },
    };
    assert.deepEqual(queueCharts.capacities(state), { lb: 100, queue: 20 });
    assert.deepEqual(queueCharts.capacities({ ...state, traffic: null }), { lb: null, queue: null });
  });

  test("queue scenarios get their own markers; other events the LB page's", () => {
    assert.equal(queueCharts.queueMarker({ kind: "fault.inject", ts: 1, detail: { action: "queue.stop" } }).text, "consumers stopped");
    assert.equal(queueCharts.queueMarker({ kind: "queue.dead", ts: 1 }).tone, "health");
    assert.equal(queueCharts.queueMarker({ kind: "fault.inject", ts: 1, detail: { action: "node.kill", node: "node-1" } }).text, "kill node-1");
  });
});
