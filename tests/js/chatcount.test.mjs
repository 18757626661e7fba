// chat/views.js: the header and the rooms table count a room's members one way (pure).
import assert from "node:assert/strict";
import { test } from "node:test";

import { importServed } from "./served.mjs";

const { countWords, memberCount } = await importServed("archviz/chat/views.js");

test("connections and the people holding them are counted apart", () => {
  const members = [
    { user: "ana", node: "node-1" },
    { user: "ana", node: "node-2" }, // a second tab, or an old connection not yet expired
    { user: "ben", node: "node-2" },
  ];
  assert.deepEqual(memberCount(members), { connections: 3, people: 2 });
  assert.equal(countWords(memberCount(members)), "3 connections (2 people)");
});

test("one of each is singular, none is zero", () => {
  assert.equal(countWords(memberCount([{ user: "ana", node: "node-1" }])), "1 connection (1 person)");
  assert.equal(countWords(memberCount([])), "0 connections (0 people)");
});
