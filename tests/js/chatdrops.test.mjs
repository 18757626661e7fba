// chat/views.js: a node card's line about what the stack dropped (pure, no DOM needed).
import assert from "node:assert/strict";
import { test } from "node:test";

import { importServed } from "./served.mjs";

const { dropsLine } = await importServed("archviz/chat/views.js");

test("a node with no drops says nothing", () => {
  assert.equal(dropsLine({ group_full_total: 0, pubsub_lost_total: 0 }), "");
  assert.equal(dropsLine(undefined), "");
});

test("each kind of drop is named with its count", () => {
  assert.equal(dropsLine({ group_full_total: 7, pubsub_lost_total: 0 }), "7 group sends skipped: channel full");
  assert.equal(
    dropsLine({ group_full_total: 1, expired_total: 3, pubsub_lost_total: 2 }),
    "1 group send skipped: channel full, 3 messages expired unread, 2 pub/sub connections lost",
  );
});
