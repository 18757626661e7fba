// The small formatters and lookups the pages print with.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { ALGORITHMS, algorithmLabel, describeAlgorithm } from "../../static/archviz/js/lib/algorithms.js";
import { formatMegabytes, truncate } from "../../static/archviz/js/lib/svg.js";
import { formatClock, formatMs, shortDetail } from "../../static/archviz/js/lib/tracelog.js";

describe("formatMs", () => {
  test("two decimals under 10 ms, one above", () => {
    assert.equal(formatMs(1.234), "1.23 ms");
    assert.equal(formatMs(0), "0.00 ms");
    assert.equal(formatMs(12.345), "12.3 ms");
    assert.equal(formatMs(1500), "1500.0 ms");
  });

  test("an event without a duration prints nothing", () => {
    assert.equal(formatMs(null), "");
    assert.equal(formatMs(undefined), "");
  });
});

describe("formatMegabytes", () => {
  test("bytes in MiB with one decimal", () => {
    assert.equal(formatMegabytes(52_428_800), "50.0 MB");
    assert.equal(formatMegabytes(1_572_864), "1.5 MB");
  });

  test("unknown or empty is a dash", () => {
    for (const bytes of [null, undefined, 0, -1]) assert.equal(formatMegabytes(bytes), "—");
  });
});

test("truncate keeps short text and ends long text with an ellipsis, within the limit", () => {
  assert.equal(truncate("node-1", 10), "node-1");
  assert.equal(truncate("dashboard-8000", 10), "dashboard…");
  assert.equal(truncate("dashboard-8000", 10).length, 10);
});

test("formatClock is local HH:MM:SS.mmm", () => {
  const ts = new Date(2024, 0, 15, 9, 5, 7, 42).getTime();
  assert.equal(formatClock(ts), "09:05:07.042");
});

describe("shortDetail", () => {
  test("the reason comes first, bare; other keys as key=value", () => {
    assert.equal(shortDetail({ port: 8101, reason: "least connections: 2 < 5" }), "least connections: 2 < 5 · port=8101");
  });

  test("a long detail is cut to the limit", () => {
    const text = shortDetail({ reason: "x".repeat(200) }, 20);
    assert.equal(text.length, 20);
    assert.ok(text.endsWith("…"));
  });

  test("no detail, no text", () => {
    assert.equal(shortDetail(null), "");
    assert.equal(shortDetail("oops"), "");
  });
});

describe("algorithms", () => {
  test("a known algorithm has its label and explanation", () => {
    assert.equal(algorithmLabel("least_latency"), "Least latency (peak EWMA)");
    const known = describeAlgorithm("round_robin");
    assert.equal(known.name, "round_robin");
    assert.match(known.summary, /next node in turn/);
  });

  test("an algorithm the page does not know is still shown by its name", () => {
    assert.equal(algorithmLabel("two_random_choices"), "two random choices");
    assert.match(describeAlgorithm("two_random_choices").summary, /no explanation/);
    assert.equal(algorithmLabel(""), "—");
  });

  test("every known algorithm has a label and a summary", () => {
    for (const [name, about] of Object.entries(ALGORITHMS)) {
      assert.ok(about.label && about.summary, name);
    }
  });
});
