// lib/words.js: counts in words.
import assert from "node:assert/strict";
import { test } from "node:test";
import { importServed } from "./served.mjs";

const { plural } = await importServed("archviz/js/lib/words.js");

test("one is singular; none and many are plural", () => {
  assert.equal(plural(1, "WebSocket", "WebSockets"), "1 WebSocket");
  assert.equal(plural(0, "WebSocket", "WebSockets"), "0 WebSockets");
  assert.equal(plural(2, "person", "people"), "2 people");
});
