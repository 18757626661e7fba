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

const overlaps = (a, b) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
const fixed = (l) => [l.supervisorRect, l.dashboardRect, l.redisRect, l.nodeArea];

test("the other processes' groups sit below the picture, inside it, overlapping nothing", () => {
  for (const pixels of [1366, 890, 390, 340]) {
    const lines = [3, 4, 2, 7, 1];
    const layout = topologyLayout(pixels, 3, lines);
    const { rects, captionY } = layout.groups;
    assert.equal(rects.length, lines.length);
    const above = Math.max(...fixed(layout).map((r) => r.y + r.h));
    assert.ok(captionY > above, `${pixels}: the band's caption below the boxes above`);
    rects.forEach((r, i) => {
      assert.ok(inside(r, layout.width, layout.height), `${pixels}: group ${i} inside`);
      assert.ok(r.y > captionY, `${pixels}: group ${i} below the caption`);
      assert.ok(r.h >= 30 + lines[i] * 16, `${pixels}: group ${i} holds its ${lines[i]} lines`);
      for (const other of [...fixed(layout), ...rects.filter((o) => o !== r)]) {
        assert.ok(!overlaps(r, other), `${pixels}: group ${i} overlaps nothing`);
      }
    });
  }
});

test("wide, the groups stand side by side, at least 200 units wide; on a phone one column", () => {
  const wide = topologyLayout(1366, 3, [3, 4, 2, 7]).groups.rects;
  assert.equal(new Set(wide.map((r) => r.y)).size, 1);
  assert.ok(wide.every((r) => r.w >= 200));
  const narrower = topologyLayout(720, 3, [3, 4, 2, 7]).groups.rects;
  assert.ok(narrower.every((r) => r.w >= 200));
  assert.ok(new Set(narrower.map((r) => r.y)).size > 1, "wrapped onto a second row");
  const phone = topologyLayout(370, 3, [3, 4, 2, 7]);
  assert.equal(new Set(phone.groups.rects.map((r) => r.x)).size, 1);
  assert.ok(phone.groups.rects[0].y > phone.dashboardRect.y + phone.dashboardRect.h);
});

test("with no other processes the picture keeps its height", () => {
  assert.equal(topologyLayout(1366, 3, []).height, topologyLayout(1366, 3).height);
  assert.ok(topologyLayout(1366, 3, [3]).height > topologyLayout(1366, 3).height);
});
