// boxes.js: the dashboard box's line about its tabs (pure, no DOM needed).
import assert from "node:assert/strict";
import { test } from "node:test";

import { importServed } from "./served.mjs";

const { socketsLine } = await importServed("archviz/dashboard/boxes.js");

test("the tabs of every dashboard are added up", () => {
  assert.equal(socketsLine([{ sockets: 2 }, { sockets: 1 }]), "3 tabs");
  assert.equal(socketsLine([{ sockets: 1 }]), "1 tab");
  assert.equal(socketsLine([]), "0 tabs");
});

test("tabs closed as too slow are shown once there are any", () => {
  const dashboards = [{ sockets: 4, too_slow_closes: 2 }, { sockets: 0, too_slow_closes: 1 }];
  assert.equal(socketsLine(dashboards), "4 tabs, 3 closed too slow");
});

const { subscribersClosedLine } = await importServed("archviz/dashboard/boxes.js");

test("the subscribers Redis closed are shown once there are any", () => {
  assert.equal(subscribersClosedLine({ output_buffer_closes: 0 }), "");
  assert.equal(subscribersClosedLine({ output_buffer_closes: null }), "");
  assert.equal(subscribersClosedLine({ output_buffer_closes: 1 }), " · 1 subscriber closed");
  assert.equal(subscribersClosedLine({ output_buffer_closes: 12 }), " · 12 subscribers closed");
});
