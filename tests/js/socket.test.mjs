// socket.js: the reconnect delays, and what the reconnecting client does with a fake WebSocket.
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, mock, test } from "node:test";

import { ProtocolError } from "../../static/archviz/js/lib/protocol.js";
import {
  MAX_HINT_MS,
  ReconnectingSocket,
  backoffDelay,
  reconnectDelay,
  withJitter,
} from "../../static/archviz/js/lib/socket.js";

describe("backoffDelay", () => {
  test("doubles from the minimum with each attempt", () => {
    assert.deepEqual(
      [0, 1, 2, 3, 4].map((n) => backoffDelay(n, 500, 8000)),
      [500, 1000, 2000, 4000, 8000],
    );
  });

  test("stops at the maximum, however many attempts (no overflow to Infinity)", () => {
    assert.equal(backoffDelay(5, 500, 8000), 8000);
    assert.equal(backoffDelay(1e6, 500, 8000), 8000);
  });
});

describe("withJitter", () => {
  test("spreads a delay over [1 - jitter, 1 + jitter] of itself", () => {
    assert.equal(withJitter(1000, 0.25, () => 0), 750);
    assert.equal(withJitter(1000, 0.25, () => 0.5), 1000);
    assert.equal(withJitter(1000, 0.25, () => 0.999999), 1250);
  });

  test("without jitter the delay is exact", () => {
    assert.equal(withJitter(1234, 0, Math.random), 1234);
  });

  test("many tabs draw different delays, all within the band", () => {
    const delays = Array.from({ length: 200 }, () => withJitter(2000, 0.25));
    assert.ok(delays.every((d) => d >= 1500 && d <= 2500));
    assert.ok(new Set(delays).size > 50, "not in lockstep");
  });
});

describe("reconnectDelay", () => {
  const options = { minDelayMs: 500, maxDelayMs: 8000, jitter: 0.25 };

  test("is the backoff delay with jitter", () => {
    assert.equal(reconnectDelay(0, options, () => 0), 375);
    assert.equal(reconnectDelay(2, options, () => 0.5), 2000);
  });

  test("never exceeds the maximum, even with jitter", () => {
    assert.equal(reconnectDelay(10, options, () => 0.999999), 8000);
    assert.equal(reconnectDelay(10, options, () => 0), 6000);
  });
});

/** A stand-in for the browser's WebSocket: the test opens, closes and feeds it. */
class FakeWebSocket {
  static OPEN = 1;
  static instances = [];

  constructor(url) {
    this.url = url;
    this.readyState = 0;
    this.sent = [];
    this.listeners = {};
    FakeWebSocket.instances.push(this);
  }

  addEventListener(type, listener) {
    (this.listeners[type] ||= []).push(listener);
  }

  emit(type, event = {}) {
    for (const listener of this.listeners[type] || []) listener(event);
  }

  open() {
    this.readyState = FakeWebSocket.OPEN;
    this.emit("open");
  }

  serverClose(code) {
    this.readyState = 3;
    this.emit("close", { code });
  }

  send(text) {
    this.sent.push(text);
  }

  close(code) {
    this.serverClose(code);
  }
}

describe("ReconnectingSocket", () => {
  let statuses;
  let messages;
  let errors;

  const start = (options = {}) =>
    new ReconnectingSocket({
      url: "ws://lab.example/ws/lab/",
      WebSocketImpl: FakeWebSocket,
      onStatus: (status) => statuses.push(status),
      onMessage: (frame) => messages.push(frame),
      onProtocolError: (err) => errors.push(err),
      ...options,
    }).start();

  beforeEach(() => {
    FakeWebSocket.instances = [];
    statuses = [];
    messages = [];
    errors = [];
    mock.timers.enable({ apis: ["setTimeout"] });
  });

  afterEach(() => mock.timers.reset());

  test("needs a url", () => {
    assert.throws(() => new ReconnectingSocket({ WebSocketImpl: FakeWebSocket }), /needs a url/);
  });

  test("connects, goes live, and sends JSON only while open", () => {
    const socket = start();
    const ws = FakeWebSocket.instances[0];
    assert.equal(ws.url, "ws://lab.example/ws/lab/");
    assert.equal(socket.send({ type: "ping", node: "node-1" }), false);
    ws.open();
    assert.deepEqual(
      statuses.map((s) => s.state),
      ["connecting", "live"],
    );
    assert.equal(socket.isOpen, true);
    assert.equal(socket.send({ type: "ping", node: "node-1" }), true);
    assert.deepEqual(ws.sent, ['{"type":"ping","node":"node-1"}']);
  });

  test("hands parsed frames on, and reports an unreadable one without passing it on", () => {
    start();
    const ws = FakeWebSocket.instances[0];
    ws.open();
    ws.emit("message", { data: '{"type": "lagging", "dropped": 3}' });
    ws.emit("message", { data: '{"type": "nonsense"}' });
    assert.deepEqual(messages, [{ type: "lagging", dropped: 3 }]);
    assert.equal(errors.length, 1);
    assert.ok(errors[0] instanceof ProtocolError);
  });

  test("a server's retry hint holds the next reconnect back, once, and at most a minute", () => {
    const socket = start({ jitter: 0, minDelayMs: 500, maxDelayMs: 8000 });
    FakeWebSocket.instances[0].open();
    socket.holdOff(3000); // the node's "overloaded" frame, before its 4013
    FakeWebSocket.instances[0].serverClose(4013);
    assert.equal(statuses.at(-1).delayMs, 3000);
    mock.timers.tick(2999);
    assert.equal(FakeWebSocket.instances.length, 1, "not before the hint");
    mock.timers.tick(1);
    FakeWebSocket.instances[1].serverClose(1006);
    assert.equal(statuses.at(-1).delayMs, 1000, "the next one is the backoff's again");
    socket.holdOff(10 * 60_000);
    mock.timers.tick(1000);
    FakeWebSocket.instances[2].serverClose(4014);
    assert.equal(statuses.at(-1).delayMs, MAX_HINT_MS);
  });

  test("a dropped connection is retried after the backoff, which grows until a connection opens", () => {
    start({ jitter: 0, minDelayMs: 500, maxDelayMs: 8000 });
    FakeWebSocket.instances[0].serverClose(1006);
    const first = statuses.at(-1);
    assert.equal(first.state, "reconnecting");
    assert.equal(first.delayMs, 500);
    assert.equal(first.code, 1006);

    mock.timers.tick(499);
    assert.equal(FakeWebSocket.instances.length, 1, "not before the delay");
    mock.timers.tick(1);
    assert.equal(FakeWebSocket.instances.length, 2);

    FakeWebSocket.instances[1].serverClose(1006);
    assert.equal(statuses.at(-1).delayMs, 1000);
    mock.timers.tick(1000);
    FakeWebSocket.instances[2].open();
    FakeWebSocket.instances[2].serverClose(4013);
    const afterOpen = statuses.at(-1);
    assert.equal(afterOpen.delayMs, 500, "an open connection resets the backoff");
    assert.equal(afterOpen.description, "server overloaded: try again later");
  });

  test("a close that retrying cannot fix is final", () => {
    start();
    FakeWebSocket.instances[0].serverClose(4001);
    assert.deepEqual(statuses.at(-1), { state: "closed", code: 4001, description: "login required" });
    mock.timers.tick(60_000);
    assert.equal(FakeWebSocket.instances.length, 1);
  });

  test("close() stops for good: no reconnect after it", () => {
    const socket = start();
    FakeWebSocket.instances[0].open();
    socket.close();
    assert.equal(statuses.at(-1).state, "closed");
    mock.timers.tick(60_000);
    assert.equal(FakeWebSocket.instances.length, 1);
  });

  test("a WebSocket that cannot even be constructed is reported and retried", () => {
    let calls = 0;
    class Refusing extends FakeWebSocket {
      constructor(url) {
        calls += 1;
        if (calls === 1) throw new SyntaxError("bad url");
        super(url);
      }
    }
    start({ WebSocketImpl: Refusing, jitter: 0 });
    assert.match(errors[0].message, /cannot open WebSocket: bad url/);
    assert.equal(statuses.at(-1).state, "reconnecting");
    mock.timers.tick(500);
    assert.equal(FakeWebSocket.instances.length, 1);
  });
});
