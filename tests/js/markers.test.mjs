// lib/markers.js: markers close in time collapse into one, only the newest 3 carry a label.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { layoutMarkers, markerDecorations } from "../../static/archviz/js/lib/markers.js";

const marker = (ts, text, tone = "fault") => ({ ts, text, tone, dash: "solid", title: `fault.inject: ${text}` });

describe("layoutMarkers", () => {
  test("markers close in time collapse into one, with the newest's words and a count", () => {
    // 120 s window: 3 s apart or less is one group
    const laid = layoutMarkers([marker(10_000, "kill node-2"), marker(11_000, "+ node-4", "scaling"), marker(12_500, "traffic 40/s", "traffic")]);
    assert.equal(laid.length, 1);
    assert.equal(laid[0].ts, 10_000);
    assert.equal(laid[0].count, 3);
    assert.equal(laid[0].text, "traffic 40/s +2");
    assert.equal(laid[0].tone, "traffic");
    assert.equal(laid[0].title, "fault.inject: kill node-2<br>fault.inject: + node-4<br>fault.inject: traffic 40/s");
  });

  test("a group is bounded from its first marker: a steady series does not chain into one", () => {
    const steady = [0, 2000, 4000, 6000, 8000].map((ts) => marker(ts, `m${ts}`));
    const laid = layoutMarkers(steady);
    assert.deepEqual(laid.map((m) => m.count), [2, 2, 1]);
  });

  test("only the newest three groups are labelled, on rows 0 (newest) to 2; the rest are ticks", () => {
    const many = [0, 10, 20, 30, 40, 50, 60].map((s) => marker(s * 1000, `event ${s}`));
    const laid = layoutMarkers(many, { windowMs: 120_000 });
    assert.equal(laid.length, 7);
    assert.deepEqual(laid.map((m) => m.label), [false, false, false, false, true, true, true]);
    assert.deepEqual(laid.map((m) => m.row), [null, null, null, null, 2, 1, 0]);
  });

  test("markers given out of order are laid out oldest first", () => {
    const laid = layoutMarkers([marker(50_000, "late"), marker(1000, "early")]);
    assert.deepEqual(laid.map((m) => m.text), ["early", "late"]);
  });

  test("a long label is cut; its title stays whole", () => {
    const long = "node-2 +300 ms ±100 ms cap 4 w 3 and more words";
    const [laid] = layoutMarkers([marker(0, long)]);
    assert.ok(laid.text.length <= 32 && laid.text.endsWith("…"));
    assert.ok(laid.title.endsWith(long));
  });

  test("however many actions, at most three labels are drawn (the pile-up that was unreadable)", () => {
    const burst = Array.from({ length: 40 }, (_, i) => marker(i * 1500, `action ${i}`));
    const { annotations, shapes } = markerDecorations(layoutMarkers(burst));
    const labels = annotations.filter((a) => a.text !== "▾");
    assert.equal(labels.length, 3);
    assert.equal(shapes.length, annotations.length);
    assert.ok(annotations.every((a) => a.hovertext && a.font.size >= 12));
  });
});

describe("markerDecorations", () => {
  test("a labelled group's text sits left of its line; a tick is a mark with the hover title", () => {
    const laid = layoutMarkers([marker(0, "old"), marker(60_000, "new", "recovery")], { labelled: 1 });
    const { shapes, annotations } = markerDecorations(laid, (ts) => ts + 1);
    assert.deepEqual(shapes.map((s) => s.x0), [1, 60_001]);
    assert.equal(shapes[1].line.color, "#15803d");
    assert.equal(annotations[0].text, "▾");
    assert.equal(annotations[0].hovertext, "fault.inject: old");
    assert.equal(annotations[1].text, "new");
    assert.equal(annotations[1].xanchor, "right");
  });
});
