// recorder/model.js: idle stretches collapse, and time and x map onto each other through them.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  barHeight,
  busyBuckets,
  duration,
  segments,
  timeToX,
  xToTime,
} from "../../archviz/recorder/static/archviz/recorder/model.js";

describe("idle stretches", () => {
  test("buckets with events or markers are busy", () => {
    const busy = busyBuckets({ lb: [0, 2, 0, 0] }, [{ ts: 1350 }], 1000, 100, 4);
    assert.deepEqual(busy, [false, true, false, true]);
  });

  test("a long idle run is squeezed, a short one is not", () => {
    const busy = [true, false, false, false, false, false, true, false, true];
    const segs = segments(busy, 0, 10, 4);
    assert.deepEqual(
      segs.map((s) => [s.t0, s.t1, s.idle]),
      [
        [0, 10, false],
        [10, 60, true],
        [60, 90, false],
      ],
    );
    const idle = segs[1];
    assert.ok(idle.x1 - idle.x0 < (segs[0].x1 - segs[0].x0) / 2, "the idle run is drawn narrow");
    assert.equal(segs[segs.length - 1].x1, 1);
  });

  test("time and x are each other's inverse, through collapsed stretches", () => {
    const segs = segments([true, false, false, false, false, true], 1000, 100, 4);
    for (const t of [1000, 1050, 1200, 1450, 1550, 1600]) {
      assert.ok(Math.abs(xToTime(segs, timeToX(segs, t)) - t) < 1e-6, `t=${t}`);
    }
    assert.equal(timeToX(segs, 0), 0);
    assert.equal(timeToX(segs, 99999), 1);
  });
});

test("durations read as minutes and seconds", () => {
  assert.equal(duration(65_400), "1:05");
  assert.equal(duration(-5), "0:00");
});

test("one event still shows as a bar; none shows nothing", () => {
  assert.equal(barHeight(0, 100), 0);
  assert.ok(barHeight(1, 10_000) > 0.1);
  assert.equal(barHeight(100, 100), 1);
});
