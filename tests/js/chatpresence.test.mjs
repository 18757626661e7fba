// chat/views.js: presence in words; a user who rejoined is never shown as gone (pure).
import assert from "node:assert/strict";
import { test } from "node:test";

import { importServed } from "./served.mjs";

const { presenceWords } = await importServed("archviz/chat/views.js");

const offline = (fields = {}) => ({
  event: "offline", user: "you-l38k", node: "node-1", room: "lobby", conn: "node-1.ab12",
  detect_ms: 3200, detected_by: "node-2", ts: 0, ...fields,
});

test("a user's own old connection timing out is not them going offline", () => {
  const { words, kind } = presenceWords(offline(), { me: { user: "you-l38k", node: "node-2" } });
  assert.equal(kind, "reconnected");
  assert.match(words, /your earlier connection on node-1 timed out .*you are connected on node-2/);
  assert.doesNotMatch(words, /went offline/);
});

test("the server's back_on says another user is connected again", () => {
  const { words, kind } = presenceWords(offline({ back_on: ["node-3"] }), { me: { user: "ann", node: "node-2" } });
  assert.equal(kind, "reconnected");
  assert.match(words, /connected again on node-3/);
});

test("the room's current members say so too (the presence log)", () => {
  assert.equal(presenceWords(offline(), { back: ["node-2"] }).kind, "reconnected");
});

test("a user seen nowhere went offline, with how long it took to tell", () => {
  const { words, kind } = presenceWords(offline(), { me: { user: "ann", node: "node-2" } });
  assert.equal(kind, "offline");
  assert.equal(words, "went offline (no heartbeat for 3.2 s, detected by node-2)");
});

test("while this tab itself is reconnecting its own old connection is not claimed as back", () => {
  assert.equal(presenceWords(offline(), { me: { user: "you-l38k", node: null } }).kind, "offline");
});

test("joins and leaves", () => {
  assert.deepEqual(presenceWords({ event: "join" }), { words: "joined", kind: "join" });
  assert.deepEqual(presenceWords({ event: "leave" }), { words: "left", kind: "leave" });
});
