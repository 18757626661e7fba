// animator.js: the geometry the dots move along, and that every hop it does not draw is counted.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { SKIP_REASONS, TraceAnimator, pointAlong, polylineLength } from "../../static/archviz/js/lib/animator.js";

describe("polylines", () => {
  const path = [
    { x: 0, y: 0 },
    { x: 30, y: 40 },
    { x: 30, y: 90 },
  ];

  test("the length is the sum of the segments", () => {
    assert.equal(polylineLength(path), 100);
    assert.equal(polylineLength([{ x: 1, y: 1 }]), 0);
  });

  test("a fraction of the way along lands on the right segment", () => {
    assert.deepEqual(pointAlong(path, 0), { x: 0, y: 0 });
    assert.deepEqual(pointAlong(path, 0.25), { x: 15, y: 20 });
    assert.deepEqual(pointAlong(path, 0.75), { x: 30, y: 65 });
    assert.deepEqual(pointAlong(path, 1), { x: 30, y: 90 });
  });

  test("fractions outside 0..1 stay at the ends", () => {
    assert.deepEqual(pointAlong(path, -1), { x: 0, y: 0 });
    assert.deepEqual(pointAlong(path, 2), { x: 30, y: 90 });
  });
});

describe("TraceAnimator's skipped counts", () => {
  const event = (trace, ts, src = "dashboard", dst = "node-1") => ({ trace, ts, src, dst, kind: "http.request", ok: true });

  function animator(options) {
    globalThis.requestAnimationFrame = () => 0; // frames are driven by hand below
    const reported = [];
    const clock = { now: 0 };
    const anim = new TraceAnimator({
      now: () => clock.now,
      isHidden: () => false,
      pathBetween: () => null,
      onSkipped: (counts, total) => reported.push({ counts, total }),
      ...options,
    });
    return { anim, reported, clock };
  }

  test("every reason has words for the page", () => {
    assert.deepEqual(Object.keys(SKIP_REASONS).sort(), ["cap", "late", "nowhere"]);
  });

  test("a hop between components without boxes is counted as nowhere, after the hold", () => {
    const { anim, reported, clock } = animator({ holdMs: 250 });
    anim.play([event("t1", 1), event("t1", 2)]);
    anim.tick();
    assert.equal(reported.length, 0, "held for a moment: events of one trace may arrive out of order");
    clock.now = 300;
    anim.tick();
    assert.deepEqual(reported.at(-1), { counts: { cap: 0, late: 0, nowhere: 2 }, total: 2 });
    assert.equal(anim.traces.size, 0);
  });

  test("events that arrive while the tab is hidden are counted as late, not queued", () => {
    const { anim, reported } = animator({ isHidden: () => true });
    anim.play([event("t1", 1), event("t2", 1), event("t3", 1)]);
    assert.deepEqual(reported.at(-1), { counts: { cap: 0, late: 3, nowhere: 0 }, total: 3 });
    assert.equal(anim.queued, 0);
  });

  test("events beyond the queue's limit are counted as late", () => {
    const { anim, reported } = animator({ maxQueued: 2 });
    anim.play([event("a", 1), event("b", 2), event("c", 3), event("d", 4)]);
    assert.equal(anim.queued, 2);
    assert.equal(reported.at(-1).counts.late, 2);
  });

  test("events that waited too long to start are counted as late", () => {
    const { anim, reported, clock } = animator({ holdMs: 10, maxAgeMs: 1000 });
    anim.play([event("t1", 1)]);
    clock.now = 5000;
    anim.tick();
    assert.deepEqual(reported.at(-1).counts, { cap: 0, late: 1, nowhere: 0 });
  });
});
