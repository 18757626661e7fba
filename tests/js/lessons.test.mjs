// The lesson panel's pure helpers: where a learner resumes, and what a wait says.
import assert from "node:assert/strict";
import { test } from "node:test";

import { resumeAt, shown, waitWords } from "../../archviz/lessons/static/archviz/lessons/waiting.js";

test("a new learner starts at the first step", () => {
  assert.equal(resumeAt({ step: -1, met: [] }, 5), 0);
});

test("a step started and not met is shown again; a met one moves on", () => {
  assert.equal(resumeAt({ step: 2, met: [0, 1] }, 5), 2);
  assert.equal(resumeAt({ step: 2, met: [0, 1, 2] }, 5), 3);
});

test("after the last step comes try it yourself", () => {
  assert.equal(resumeAt({ step: 4, met: [0, 1, 2, 3, 4] }, 5), 5);
});

test("figures are shown rounded", () => {
  assert.equal(shown(312.44), "312");
  assert.equal(shown(21.26), "21.3");
  assert.equal(shown(4), "4");
  assert.equal(shown("redis"), "redis");
});

const step = {
  until: [{ text: "traffic.p95_ms > 300", figure: "traffic.p95_ms", words: "p95 latency (ms): > 300" }],
  within_s: 30,
};

test("a wait says what it waits for, the figure now and the time left", () => {
  const words = waitWords(step, { met: false, timed_out: false, elapsed_s: 12, figures: { "traffic.p95_ms": 120.4 } });
  assert.equal(words, "Waiting for p95 latency (ms): > 300 (now 120; 18 s left)…");
});

test("a wait met or timed out says so", () => {
  assert.equal(waitWords(step, { met: true, figures: {} }), "Seen: p95 latency (ms): > 300.");
  const late = waitWords(step, { met: false, timed_out: true, elapsed_s: 31, figures: {} });
  assert.match(late, /^Not seen within 30 s: p95 latency \(ms\): > 300 \(now \?\)/);
});

test("a step without a wait says nothing", () => {
  assert.equal(waitWords({ until: [], within_s: 0 }, { met: true, figures: {} }), "");
});
