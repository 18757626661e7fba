// Trace events whose free text the server cut say so in the log row.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { shortDetail } from "../../static/archviz/js/lib/tracelog.js";

describe("shortDetail of a cut event", () => {
  test("the cut fields are named first, before the summary is truncated", () => {
    const text = shortDetail({ reason: "r", path: `/work?${"a".repeat(250)}…`, cut: ["path"] });
    assert.ok(text.startsWith("(cut: path) · r · path=/work?aaa"), text);
    assert.equal(text.length, 90);
  });

  test("an event with nothing cut has no note", () => {
    assert.equal(shortDetail({ reason: "least connections" }), "least connections");
  });
});
