// chat/views.js: what a message's path row says about who got it (pure, no DOM needed).
import assert from "node:assert/strict";
import { test } from "node:test";

import { importServed } from "./served.mjs";

const { SETTLE_MS, pathVerdict } = await importServed("archviz/chat/views.js");

const SENT = 1_000_000;
const send = (mode = "redis", dst = "node-2") => ({
  ts: SENT,
  dst,
  detail: { user: "bo", room: "lobby", seq: 12, mode },
});
const delivery = (node, clients, recovered = 0) => [
  node,
  { src: node, ms: 4.2, detail: { clients, recovered } },
];
const members = [
  { user: "bo", node: "node-2", since: SENT - 60_000 },
  { user: "you-l38k", node: "node-1", since: SENT - 60_000 },
];

test("a node whose delivery came after a gap was settled is not called missed", () => {
  const path = { send: send(), published: true, deliveries: new Map([delivery("node-2", 1), delivery("node-1", 1)]) };
  const v = pathVerdict(path, members, SENT + SETTLE_MS * 2);
  assert.deepEqual(v.missed, []);
  assert.deepEqual(v.waiting, []);
  assert.deepEqual(v.hops, ["bo's client", "LB", "node-2", "Redis"]);
  assert.deepEqual(v.reached, ["node-2 → 1 client (4.2 ms)", "node-1 → 1 client (4.2 ms)"]);
});

test("in Redis mode a node without a delivery yet is waited for, not declared missed", () => {
  const path = { send: send(), published: true, deliveries: new Map([delivery("node-2", 1)]) };
  const early = pathVerdict(path, members, SENT + 100);
  assert.deepEqual(early.missed, []);
  assert.deepEqual(early.waiting, ["you-l38k on node-1"]);
  const late = pathVerdict(path, members, SENT + SETTLE_MS);
  assert.deepEqual(late.missed, ["you-l38k on node-1"]);
  assert.deepEqual(late.waiting, []);
});

test("a member who joined after the message was sent was never missed", () => {
  const later = [...members, { user: "cy", node: "node-3", since: SENT + 500 }];
  const path = { send: send(), published: true, deliveries: new Map([delivery("node-2", 1), delivery("node-1", 1)]) };
  assert.deepEqual(pathVerdict(path, later, SENT + SETTLE_MS).missed, []);
});

test("in local mode other nodes' members did not get it, at once", () => {
  const path = { send: send("local"), deliveries: new Map([delivery("node-2", 1)]) };
  const v = pathVerdict(path, members, SENT + 10);
  assert.deepEqual(v.missed, ["you-l38k on node-1"]);
  assert.deepEqual(v.hops, ["bo's client", "LB", "node-2"]);
});

test("copies replayed from the history are said to be", () => {
  const path = { send: send(), published: true, deliveries: new Map([delivery("node-1", 2, 1)]) };
  assert.deepEqual(pathVerdict(path, [], SENT).reached, ["node-1 → 2 clients (4.2 ms, 1 from the history)"]);
});
