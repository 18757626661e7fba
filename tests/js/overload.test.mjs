// The overload page's pure pieces (archviz/overload/): the reconnect policies, the learner's
// tab as a client (with a fake socket and clock), the gauges' figures and the conclusion.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { importServed } from "./served.mjs";

const r = await importServed("archviz/overload/reconnect.js");
const tab = await importServed("archviz/overload/tab.js");
const f = await importServed("archviz/overload/figures.js");
const protocol = await importServed("archviz/js/lib/protocol.js");

const fixed = (value) => () => value;

describe("reconnectDelayMs", () => {
  test("immediate is always 0 and fixed always the base", () => {
    for (const attempt of [0, 1, 5, 40]) {
      assert.equal(r.reconnectDelayMs("immediate", attempt, fixed(0.7)), 0);
      assert.equal(r.reconnectDelayMs("fixed", attempt, fixed(0.7)), 250);
      assert.equal(r.reconnectDelayMs("fixed", attempt, fixed(0.7), { baseMs: 40 }), 40);
    }
  });

  test("exponential doubles from the base up to the cap", () => {
    const delays = [0, 1, 2, 3, 4, 5, 6].map((a) => r.reconnectDelayMs("exponential", a, fixed(0.1)));
    assert.deepEqual(delays, [250, 500, 1000, 2000, 4000, 8000, 8000]);
    assert.equal(r.reconnectDelayMs("exponential", -3, fixed(0)), 250); // a negative attempt is the first
  });

  test("full jitter is the random fraction of the exponential ceiling", () => {
    assert.equal(r.reconnectDelayMs("full_jitter", 0, fixed(0)), 0);
    assert.equal(r.reconnectDelayMs("full_jitter", 2, fixed(0.5)), 500);
    assert.equal(r.reconnectDelayMs("full_jitter", 30, fixed(0.25), { baseMs: 100, capMs: 1000 }), 250);
  });

  test("the node's hint is a floor on the window; immediate ignores it", () => {
    assert.equal(r.reconnectDelayMs("immediate", 0, fixed(0.5), undefined, 5000), 0);
    assert.equal(r.reconnectDelayMs("fixed", 0, fixed(0.5), undefined, 5000), 5000);
    assert.equal(r.reconnectDelayMs("fixed", 0, fixed(0.5), undefined, 100), 250);
    assert.equal(r.reconnectDelayMs("exponential", 1, fixed(0.5), undefined, 2000), 2000);
    assert.equal(r.reconnectDelayMs("full_jitter", 1, fixed(0.5), undefined, 2000), 1000);
    assert.equal(r.reconnectDelayMs("full_jitter", 9, fixed(0.5), undefined, 2000), 4000); // the cap is larger
  });

  test("an unknown policy is refused by name", () => {
    assert.throws(() => r.reconnectDelayMs("sometimes", 0, Math.random), /unknown reconnect policy "sometimes"/);
  });

  test("the state's policy hash gives the backoff, defaults for what is missing", () => {
    assert.deepEqual(r.backoffOf({ base_ms: 100, cap_ms: 900 }), { baseMs: 100, capMs: 900, factor: 2 });
    assert.deepEqual(r.backoffOf(null), { baseMs: 250, capMs: 8000, factor: 2 });
  });
});

class FakeSocket {
  static made = [];
  constructor(url) {
    this.url = url;
    this.closedWith = null;
    FakeSocket.made.push(this);
  }
  close(code) {
    this.closedWith = code;
  }
  frame(obj) {
    this.onmessage({ data: JSON.stringify(obj) });
  }
  closeFromServer(code) {
    this.onclose({ code });
  }
}

function client(policy = "full_jitter") {
  FakeSocket.made = [];
  const timers = [];
  let now = 1000;
  const c = new tab.HoldClient({
    url: "ws://lab:8100/ws/hold/",
    WebSocketImpl: FakeSocket,
    rng: fixed(0.5),
    now: () => now,
    setTimer: (fn, ms) => timers.push({ fn, ms }),
    clearTimer: () => {},
    policy: () => ({ policy, backoff: { baseMs: 200, capMs: 1000 } }),
  }).start();
  return { c, timers, advance: (ms) => (now += ms), socket: () => FakeSocket.made.at(-1) };
}

describe("HoldClient", () => {
  test("the hello says which node the tab is on", () => {
    const { c, socket } = client();
    assert.equal(c.status, "connecting");
    socket().frame({ type: "hello", node: "node-2" });
    assert.equal(c.status, "connected");
    assert.equal(c.node, "node-2");
    assert.equal(tab.tabEventText(c.events[0]), "connected to node-2");
  });

  test("shed with its hint, then reconnected elsewhere after the policy's delay", () => {
    const { c, timers, advance, socket } = client();
    socket().frame({ type: "hello", node: "node-2" });
    socket().frame({ type: "shed", node: "node-2", retry_after_ms: 800, pressure: 0.97 });
    socket().closeFromServer(tab.SHED);
    assert.equal(c.status, "waiting");
    assert.equal(timers[0].ms, 400); // full jitter over the node's 800 ms window (over the 200 ms base)
    const shed = c.events[0];
    assert.equal(shed.kind, "shed");
    assert.equal(
      tab.tabEventText(shed),
      "shed by node-2 (4014: pressure 97 %, retry after 800 ms); reconnecting in 0.40 s (full_jitter, attempt 1)",
    );
    advance(400);
    timers[0].fn();
    assert.equal(FakeSocket.made.length, 2);
    socket().frame({ type: "hello", node: "node-1" });
    assert.equal(c.node, "node-1");
    assert.equal(tab.tabEventText(c.events[0]), "reconnected to node-1 after 0.40 s (it had been shed by node-2)");
    assert.equal(c.attempt, 0);
  });

  test("refusals back off attempt after attempt", () => {
    const { c, timers, socket } = client("exponential");
    for (let i = 0; i < 4; i += 1) {
      socket().frame({ type: "overloaded", node: "node-3", retry_after_ms: 500, pressure: 0.9 });
      socket().closeFromServer(tab.OVERLOADED);
      timers.at(-1).fn();
    }
    assert.deepEqual(timers.map((t) => t.ms), [500, 500, 800, 1000]); // the 500 ms hint, then the backoff
    assert.equal(c.events[0].kind, "refused");
    assert.match(tab.tabEventText(c.events[0]), /^refused by node-3 \(4013: pressure 90 %, retry after 500 ms\)/);
  });

  test("a drop has no hint; a hint past a minute is waited a minute", () => {
    assert.equal(tab.hintOf({ kind: "closed", retryAfterMs: 900 }), 0);
    assert.equal(tab.hintOf({ kind: "shed", retryAfterMs: null }), 0);
    assert.equal(tab.hintOf({ kind: "refused", retryAfterMs: 10 ** 9 }), 60_000);
  });

  test("stopped by the learner: closed cleanly and no reconnect", () => {
    const { c, timers, socket } = client();
    const ws = socket();
    c.stop();
    assert.equal(ws.closedWith, 1000);
    ws.onclose({ code: 1000 });
    assert.equal(timers.length, 0);
    assert.equal(c.status, "stopped");
  });

  test("frames that are not the node's are ignored", () => {
    assert.equal(tab.parseHoldFrame("{not json"), null);
    assert.equal(tab.parseHoldFrame('{"type": "other"}'), null);
    assert.deepEqual(tab.parseHoldFrame('{"type": "echo", "node": "n", "text": "x"}').type, "echo");
  });

  test("the URL goes to the balancer's port with the page's ticket", () => {
    const location = { protocol: "http:", hostname: "lab.example" };
    assert.equal(tab.holdUrl(location, 8100, "/ws/hold/", "a:b/c"), "ws://lab.example:8100/ws/hold/?ticket=a%3Ab%2Fc");
    assert.equal(tab.holdUrl({ protocol: "https:", hostname: "h" }, 1, "/ws/hold/", null), "wss://h:1/ws/hold/");
  });

  test("the shed close code is known to the protocol, with a retry", () => {
    assert.equal(protocol.CLOSE_CODES[4014].name, "SHED");
    assert.equal(protocol.closeIsRetryable(4014), true);
  });
});

describe("nodeFigures", () => {
  test("a node that has not reported shows nothing invented", () => {
    const figures = f.nodeFigures({ id: "node-1", report: null, pressure: null, overload: null, admission: {} });
    assert.equal(figures.reporting, false);
    assert.equal(figures.pressure, null);
    assert.equal(f.percentText(figures.pressure), "not reported");
    assert.equal(figures.shed, null);
    assert.equal(f.pressureZone(figures.pressure, figures.thresholds), "unknown");
  });

  test("the report's figures come first, the heartbeat's fill in", () => {
    const figures = f.nodeFigures({
      id: "node-2",
      report: { value: 0.93, dominant: "cpu_percent", reject_above: 0.8, shed_above: 0.95, websockets: 412,
                ws_limit: 500, handshakes_total: 9, rejected_ws_total: 3, rejected_http_total: 4, shed_total: 2 },
      pressure: { value: 0.9, normalised: { cpu_percent: 0.93, websockets: 0.82, loop_lag_ms: "x" } },
      overload: { reject_above: 70, shed_above: 90, ws_limit: 400, shedding: true },
      admission: { served_total: 120, limit: 10 },
    });
    assert.equal(figures.pressure, 0.93);
    assert.deepEqual(figures.thresholds, { reject: 0.8, shed: 0.95 });
    assert.deepEqual(figures.signals.map((s) => s.name), ["cpu_percent", "websockets"]);
    assert.equal(figures.rejected, 7);
    assert.equal(figures.admitted, 120);
    assert.equal(figures.wsLimit, 500);
    assert.equal(f.pressureZone(0.93, figures.thresholds), "reject");
    assert.equal(f.pressureZone(0.96, figures.thresholds), "shed");
    assert.equal(f.pressureZone(0.8, figures.thresholds), "ok"); // strictly above
  });

  test("thresholds from the heartbeat are percentages", () => {
    const figures = f.nodeFigures({ id: "n", report: null, pressure: { value: 0.2 }, overload: { reject_above: 80, shed_above: 95 } });
    assert.deepEqual(figures.thresholds, { reject: 0.8, shed: 0.95 });
    assert.equal(figures.pressure, 0.2);
  });
});

describe("goodput and the conclusion", () => {
  test("the generator's window as rates", () => {
    const s = f.goodputSample({ up: true, rate: 40, window_s: 5, sent: 200, ok: 150, latency_ms: { p99: 80 } });
    assert.deepEqual(s, { asked: 40, offered: 40, goodput: 30, p99: 80 });
    assert.equal(f.goodputSample(null), null);
    assert.equal(f.goodputSample({ up: false }), null);
  });

  test("no conclusion until both loads were measured", () => {
    assert.equal(f.conclusionText({}), null);
    assert.equal(f.conclusionText({ on: { rate: 80, goodput: 38, base_goodput: 40 } }), null);
  });

  test("the conclusion uses the measured numbers", () => {
    const text = f.conclusionText({
      on: { rate: 80, goodput: 38, base_goodput: 40 },
      off: { rate: 80, goodput: 6, base_goodput: 40 },
    });
    assert.match(text, /^With the limiter on, doubling the offered load to 80 requests\/s gave 38 answered\/s \(95 % of the 40\/s before\); with it off, .* gave 6\.0 answered\/s \(15 %/);
    assert.match(text, /kept 32 more answers a second/);
  });

  test("a limiter that did not help is said so", () => {
    const same = { rate: 20, goodput: 20, base_goodput: 10 };
    assert.match(f.conclusionText({ on: same, off: same }), /did not help/);
  });
});

describe("overloadMarker", async () => {
  globalThis.window ??= {}; // charts.js reads window.Plotly only when a chart is made
  const c = await importServed("archviz/overload/charts.js");
  const ev = (kind, detail, fields = {}) => ({ kind, ts: 5, src: "node-2", dst: "x", detail, ...fields });

  test("scenarios and sheds are marked in words", () => {
    assert.equal(c.overloadMarker(ev("fault.inject", { action: "node.shed", node: "node-2", percent: 30 })).text, "shed 30 % node-2");
    assert.equal(c.overloadMarker(ev("fault.inject", { action: "overload.double", limiter: "off" })).text, "×2, limiter off");
    assert.equal(c.overloadMarker(ev("shed.disconnect", { count: 12, policy: "priority" })).text, "node-2 shed 12");
    assert.equal(c.overloadMarker(ev("http.request", {})), null);
  });
});

describe("zoneText", async () => {
  const v = await importServed("archviz/overload/view.js");
  test("a report gives the zone; a heartbeat alone says so; nothing is not reporting", () => {
    assert.equal(v.zoneText({ reporting: true, pressure: 0.9 }, "reject"), "over its reject threshold: refusing new work");
    assert.equal(v.zoneText({ reporting: false, pressure: 0.2 }, "ok"), "has headroom (heartbeat; no pressure report)");
    assert.equal(v.zoneText({ reporting: false, pressure: null }, "unknown"), "not reporting");
  });
});

describe("worthMarking", async () => {
  const c = await importServed("archviz/overload/charts.js");
  test("a shedding node's batches get one marker every few seconds", () => {
    const last = new Map();
    const batch = (src, ts) => ({ kind: "shed.disconnect", src, ts, detail: { count: 3 } });
    const marks = [batch("node-2", 0), batch("node-2", 200), batch("node-3", 400), batch("node-2", 5200)]
      .map((e) => c.worthMarking(c.overloadMarker(e), e, last));
    assert.deepEqual(marks, [true, false, true, true]);
    const fault = { kind: "fault.inject", ts: 1, detail: { action: "node.hog", node: "node-1", seconds: 5 } };
    assert.equal(c.worthMarking(c.overloadMarker(fault), fault, last), true);
    assert.equal(c.worthMarking(null, fault, last), false);
  });
});

describe("timingPoints", async () => {
  const c = await importServed("archviz/overload/charts.js");
  test("each node's queue time and round trip, and only the yardsticks its policy reports", () => {
    const lines = new Map();
    const points = c.timingPoints(
      {
        "node-1": { policy: "gradient", queue_ms: 0, rtt_ms: 61.5, long_rtt_ms: 42 },
        "node-2": { policy: "aimd", queue_ms: 3, rtt_ms: 40.1, rtt_timeout_ms: 500 },
        "node-3": { policy: "fixed", queue_ms: 880, rtt_ms: null },
        "node-4": { policy: "codel", queue_ms: 12, rtt_ms: 41, target_ms: 20.5 },
      },
      (key, line) => lines.set(key, line),
    );
    assert.deepEqual(points, {
      "node-1:queue_ms": 0,
      "node-1:rtt_ms": 61.5,
      "node-1:long_rtt_ms": 42,
      "node-2:queue_ms": 3,
      "node-2:rtt_ms": 40.1,
      "node-2:rtt_timeout_ms": 500,
      "node-3:queue_ms": 880,
      "node-4:queue_ms": 12,
      "node-4:rtt_ms": 41,
      "node-4:target_ms": 20.5,
    });
    assert.deepEqual([...lines.keys()], Object.keys(points));
    assert.match(lines.get("node-1:long_rtt_ms").name, /node-1 baseline RTT \(gradient\)/);
    assert.match(lines.get("node-4:target_ms").name, /node-4 queue target \(CoDel\)/);
  });
});
