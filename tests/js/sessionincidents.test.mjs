// sessions/incidents.js: a killed node's line, and the restart that follows it (pure).
import assert from "node:assert/strict";
import { test } from "node:test";

import { importServed } from "./served.mjs";

const { NodeIncidents } = await importServed("archviz/sessions/incidents.js");

const KILLED = 1_000_000;
const clock = (ts) => `t+${(ts - KILLED) / 1000}`;
const down = { id: "e1", kind: "node.down", src: "supervisor", dst: "node-2", ts: KILLED,
  detail: { reason: "killed by SIGKILL on ana's command", restart_in_s: 0.5 } };
const start = { id: "e2", kind: "node.start", src: "supervisor", dst: "node-2", ts: KILLED + 520, detail: { pid: 9 } };

test("a kill stays as a line, and the restart completes it", () => {
  const incidents = new NodeIncidents({ clock });
  assert.equal(incidents.add(down), true);
  assert.deepEqual(incidents.lines(), [
    { node: "node-2", state: "restarting", text: "node-2 was killed (SIGKILL) on ana's command at t+0; the supervisor restarts it in 0.5 s" },
  ]);
  assert.equal(incidents.add(start), true);
  assert.deepEqual(incidents.lines(), [
    {
      node: "node-2",
      state: "restarted",
      text: "node-2 was killed (SIGKILL) on ana's command at t+0; the supervisor restarted it 0.5 s later (a new process, with empty memory)",
    },
  ]);
});

test("the same event twice (replay, then live) and other nodes' starts change nothing", () => {
  const incidents = new NodeIncidents({ clock });
  incidents.add(down);
  assert.equal(incidents.add(down), false);
  assert.equal(incidents.add({ ...start, id: "e3", dst: "node-1" }), false);
  assert.equal(incidents.add({ id: "e4", kind: "session.read", dst: "node-2", ts: 0 }), false);
  assert.equal(incidents.lines().length, 1);
});

test("a crash the supervisor gives up on says so; newest first; only the last few kept", () => {
  const incidents = new NodeIncidents({ clock, maxRows: 2 });
  incidents.add({ ...down, id: "a", dst: "node-1", detail: { reason: "exited with code 1" } });
  incidents.add({ id: "b", kind: "node.failed", dst: "node-1", ts: KILLED, detail: {} });
  incidents.add({ ...down, id: "c", dst: "node-3" });
  incidents.add({ ...down, id: "d", dst: "node-2" });
  const lines = incidents.lines();
  assert.deepEqual(lines.map((l) => l.node), ["node-2", "node-3"]);
  const kept = new NodeIncidents({ clock });
  kept.add({ ...down, id: "a", dst: "node-1", detail: { reason: "exited with code 1" } });
  kept.add({ id: "b", kind: "node.failed", dst: "node-1", ts: KILLED, detail: {} });
  assert.equal(kept.lines()[0].text, "node-1 exited with code 1 at t+0; the supervisor gave up restarting it");
});
