// layout.js: the lab topology is never drawn under 1:1, and on a phone it is one column.
import assert from "node:assert/strict";
import { test } from "node:test";

import { importServed } from "./served.mjs";

const { topologyLayout, WIDE } = await importServed("archviz/dashboard/layout.js");

const inside = (r, width, height) => r.x >= 0 && r.y >= 0 && r.x + r.w <= width && r.y + r.h <= height;

test("a wide picture keeps the drawn layout and is scaled up", () => {
  for (const pixels of [0, WIDE, 1800]) {
    const layout = topologyLayout(pixels, 3);
    assert.equal(layout.width, WIDE);
    assert.equal(layout.narrow, false);
  }
});

test("narrower than the drawing, it is laid out at its own width, so drawn at 1:1", () => {
  const layout = topologyLayout(890.4, 3);
  assert.equal(layout.width, 890);
  assert.equal(layout.narrow, false);
  assert.ok(layout.nodeArea.x + layout.nodeArea.w < layout.redisRect.x);
  for (const rect of [layout.supervisorRect, layout.dashboardRect, layout.redisRect, layout.nodeArea]) {
    assert.ok(inside(rect, layout.width, layout.height));
  }
});

test("on a phone the boxes stack in one column that grows with the nodes", () => {
  const three = topologyLayout(340, 3);
  const five = topologyLayout(340, 5);
  assert.equal(three.narrow, true);
  assert.equal(three.width, 340);
  assert.ok(three.supervisorRect.y < three.redisRect.y);
  assert.ok(three.redisRect.y + three.redisRect.h < three.nodeArea.y);
  assert.ok(three.nodeArea.y + three.nodeArea.h < three.dashboardRect.y);
  assert.ok(five.height > three.height);
  assert.equal(five.grid.maxRows, 5);
  for (const rect of [three.supervisorRect, three.dashboardRect, three.redisRect, three.nodeArea]) {
    assert.ok(inside(rect, three.width, three.height));
  }
});
