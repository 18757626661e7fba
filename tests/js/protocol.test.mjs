// protocol.js: the lab socket's frames are parsed, and the browser's requests built, as the
// server expects (the names themselves are checked against Python in test_protocol_mirror.py).
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  ProtocolError,
  REQUEST_TYPES,
  algorithmRequest,
  chatBotsRequest,
  chatModeRequest,
  classAnswerRequest,
  classGotoRequest,
  classHeartbeatRequest,
  classHighlightRequest,
  classPauseRequest,
  classPollRequest,
  classRevealRequest,
  classRosterRequest,
  classStateRequest,
  closeIsRetryable,
  componentBoxId,
  controlRequest,
  describeClose,
  nodeAddRequest,
  nodeConfigRequest,
  nodeRemoveRequest,
  parseServerFrame,
  pingRequest,
  queueAddRequest,
  queueControlRequest,
  queueEnqueueRequest,
  queueRemoveRequest,
  gatewayBotsRequest,
  gatewayCompareRequest,
  gatewayKillRequest,
  gatewayLimitRequest,
  overloadBalloonRequest,
  overloadClientsRequest,
  overloadDoubleRequest,
  overloadHogRequest,
  overloadReconnectRequest,
  overloadRestoreRequest,
  overloadShedPolicyRequest,
  overloadShedRequest,
  replayRequest,
  replayStopRequest,
  sessionModeRequest,
  trafficRequest,
} from "../../static/archviz/js/lib/protocol.js";

describe("close codes", () => {
  test("a code archviz sends is described in words", () => {
    assert.equal(describeClose(4001), "login required");
    assert.equal(describeClose(1009), "message too big (over 64 KiB)");
    assert.equal(describeClose(4014), "shed to relieve an overloaded server: reconnect after the hint");
  });

  test("a code archviz does not send has no description", () => {
    assert.equal(describeClose(1006), null);
    assert.equal(describeClose(undefined), null);
  });

  test("only closes that retrying can fix are retried", () => {
    assert.equal(closeIsRetryable(4001), false); // login required: will not fix itself
    assert.equal(closeIsRetryable(4003), false); // wrong origin
    assert.equal(closeIsRetryable(4004), false); // bad room name
    assert.equal(closeIsRetryable(4013), true); // overloaded: try again later
    assert.equal(closeIsRetryable(1006), true); // the network dropped: unknown codes retry
  });
});

describe("parseServerFrame", () => {
  test("a known frame comes back as the object it encodes", () => {
    const frame = { type: "pong", trace: "abc", node: "node-1", ms: 1.5, count: 3 };
    assert.deepEqual(parseServerFrame(JSON.stringify(frame)), frame);
  });

  for (const [what, text, message] of [
    ["text that is not JSON", "{nope", /not JSON/],
    ["a JSON array", "[1, 2]", /not a JSON object/],
    ["JSON null", "null", /not a JSON object/],
    ["a string", '"state"', /not a JSON object/],
    ["an unknown type", '{"type": "explode"}', /unknown frame type "explode"/],
    ["an object without a type", '{"state": {}}', /unknown frame type undefined/],
  ]) {
    test(`${what} is a ProtocolError that names the problem`, () => {
      assert.throws(() => parseServerFrame(text), (err) => err instanceof ProtocolError && message.test(err.message));
    });
  }
});

describe("requests", () => {
  test("ping and control name their node", () => {
    assert.deepEqual(pingRequest("node-2"), { type: "ping", node: "node-2" });
    assert.deepEqual(controlRequest("kill", "node-1"), { type: "control", action: "kill", node: "node-1" });
  });

  test("an unknown control action is refused before it is sent", () => {
    assert.throws(() => controlRequest("explode", "node-1"), ProtocolError);
    assert.throws(() => controlRequest("node.kill", "node-1"), /unknown control action "node.kill"/);
  });

  test("the LB page's requests carry their settings as the server reads them", () => {
    assert.deepEqual(algorithmRequest("least_connections"), { type: "lb.algorithm", algorithm: "least_connections" });
    assert.deepEqual(trafficRequest({ rate: 20, work_ms: 5 }), { type: "traffic", rate: 20, work_ms: 5 });
    assert.deepEqual(nodeConfigRequest("node-3", { latency_ms: 300 }), {
      type: "node.config",
      node: "node-3",
      settings: { latency_ms: 300 },
    });
    assert.deepEqual(nodeAddRequest(), { type: "node.add" });
    assert.deepEqual(nodeRemoveRequest("node-4"), { type: "node.remove", node: "node-4" });
    assert.deepEqual(sessionModeRequest("redis"), { type: "session.mode", mode: "redis" });
  });

  test("the queue page's requests default to every consumer and normal jobs", () => {
    assert.deepEqual(queueControlRequest("stop"), { type: "queue.control", action: "stop", consumer: "" });
    assert.deepEqual(queueControlRequest("kill", "consumer-2"), {
      type: "queue.control",
      action: "kill",
      consumer: "consumer-2",
    });
    assert.throws(() => queueControlRequest("pause"), /unknown queue action "pause"/);
    assert.deepEqual(queueEnqueueRequest(5), { type: "queue.enqueue", count: 5, kind: "normal" });
    assert.deepEqual(queueEnqueueRequest(1, "poison"), { type: "queue.enqueue", count: 1, kind: "poison" });
    assert.deepEqual(queueAddRequest(), { type: "queue.add" });
    assert.deepEqual(queueRemoveRequest("consumer-1"), { type: "queue.remove", consumer: "consumer-1" });
  });

  test("the chat page's requests carry the mode, the room and the count", () => {
    assert.deepEqual(chatModeRequest("redis"), { type: "chat.mode", mode: "redis" });
    assert.deepEqual(chatBotsRequest("lobby", 3), { type: "chat.bots", room: "lobby", count: 3 });
  });

  test("the gateway page's requests: bots, a kill, a live limit or its reset, the comparison", () => {
    assert.deepEqual(gatewayBotsRequest(3), { type: "gateway.bots", count: 3 });
    assert.deepEqual(gatewayKillRequest("bidding-2"), { type: "gateway.kill", node: "bidding-2" });
    assert.deepEqual(gatewayLimitRequest("bid", { rate: 0.5, burst: 2 }), { type: "gateway.limit", policy: "bid", rate: 0.5, burst: 2 });
    assert.deepEqual(gatewayLimitRequest("bid", { reset: true }), { type: "gateway.limit", policy: "bid", reset: true });
    assert.deepEqual(gatewayCompareRequest(true), { type: "gateway.compare", for_class: true });
  });

  test("the overload page's requests carry their fields, optional ones only when given", () => {
    assert.deepEqual(overloadClientsRequest(600, "node-2"), { type: "overload.clients", count: 600, target: "node-2" });
    assert.deepEqual(overloadClientsRequest(0, "lb", 30), { type: "overload.clients", count: 0, target: "lb", seconds: 30 });
    assert.deepEqual(overloadReconnectRequest("fixed"), { type: "overload.reconnect", policy: "fixed" });
    assert.deepEqual(overloadReconnectRequest("fixed", { baseMs: 100, capMs: 900 }), {
      type: "overload.reconnect", policy: "fixed", base_ms: 100, cap_ms: 900,
    });
    assert.deepEqual(overloadBalloonRequest("node-1", 64, 5), { type: "overload.balloon", node: "node-1", mb: 64, seconds: 5 });
  });

  test("a replay request carries whole ms and only the options given", () => {
    assert.deepEqual(replayRequest(1000.4, 2), { type: "replay", start: 1000, speed: 2 });
    assert.deepEqual(replayRequest(5, 0.25, { end: 9.6, recording: "monday", everyone: true }), {
      type: "replay", start: 5, speed: 0.25, end: 10, recording: "monday", everyone: true,
    });
    assert.deepEqual(replayStopRequest(true), { type: "replay.stop", everyone: true });
  });

  test("the class's requests: the instructor's place flat beside the type, a member's token", () => {
    assert.deepEqual(classGotoRequest({ path: "/lb/", lesson: "load-balancer", step: 2 }), {
      type: "class.goto", path: "/lb/", lesson: "load-balancer", step: 2,
    });
    assert.deepEqual(classHeartbeatRequest("t", "free"), { type: "class.heartbeat", member: "t", mode: "free" });
    assert.deepEqual(classAnswerRequest("t", 1), { type: "class.answer", member: "t", choice: 1 });
  });

  test("the builders send every request type there is, and no other", () => {
    const built = [
      pingRequest("node-1"),
      controlRequest("stop", "node-1"),
      algorithmRequest("random"),
      trafficRequest({ rate: 0 }),
      nodeConfigRequest("node-1", {}),
      nodeAddRequest(),
      nodeRemoveRequest("node-4"),
      sessionModeRequest("local"),
      chatModeRequest("local"),
      chatBotsRequest("lobby", 0),
      queueControlRequest("start"),
      queueEnqueueRequest(1),
      queueAddRequest(),
      queueRemoveRequest("consumer-1"),
      gatewayBotsRequest(0),
      gatewayKillRequest("gateway-1"),
      gatewayLimitRequest("bid", { reset: true }),
      gatewayCompareRequest(),
      overloadClientsRequest(1, "lb"),
      overloadHogRequest("node-1", 1),
      overloadBalloonRequest("node-1", 1, 1),
      overloadShedRequest("node-1", 30),
      overloadDoubleRequest("on"),
      overloadRestoreRequest(),
      overloadReconnectRequest("immediate"),
      overloadShedPolicyRequest("oldest"),
      replayRequest(1, 1),
      replayStopRequest(),
      classGotoRequest({ path: "/lb/" }),
      classHighlightRequest(null),
      classPauseRequest(true),
      classPollRequest("load-balancer", 1),
      classRevealRequest(),
      classRosterRequest(),
      classStateRequest(),
      classHeartbeatRequest("token", "follow"),
      classAnswerRequest("token", 0),
    ].map((request) => request.type);
    assert.deepEqual(built.toSorted(), [...REQUEST_TYPES].sort());
  });
});

test("every dashboard process shares the one dashboard box; other components have their own", () => {
  assert.equal(componentBoxId("dashboard-8000"), "dashboard");
  assert.equal(componentBoxId("dashboard"), "dashboard");
  assert.equal(componentBoxId("node-2"), "node-2");
});
