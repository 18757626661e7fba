// The Lab page's list of every process: each in words, as the supervisor's records say.
import assert from "node:assert/strict";
import { test } from "node:test";

import { processRows } from "../../archviz/dashboard/static/archviz/dashboard/processes.js";

test("every process is a row saying what it is", () => {
  const rows = processRows([
    { id: "node-1", kind: "node", status: "up", pid: 11, port: 8101, restarts: 0, detail: "" },
    { id: "lb", kind: "balancer", status: "up", pid: 12, port: 8100, restarts: 1, detail: "" },
    { id: "traffic", kind: "traffic", status: "down", pid: null, port: null, restarts: 2, detail: "restarting in 1.0 s" },
    { id: "x-1", kind: "newkind", status: "starting", pid: 13, port: null, restarts: 0, detail: "" },
    { id: "dashboard-2", kind: "dashboard", status: "up", pid: 14, port: 9002, restarts: 0, detail: "" },
  ]);
  assert.deepEqual(rows.map((r) => r.what), [
    "worker node", "load balancer", "traffic generator", "newkind", "dashboard",
  ]);
  assert.deepEqual(rows[2], {
    id: "traffic", what: "traffic generator", status: "down", pid: "—", port: "—", restarts: "2",
    detail: "restarting in 1.0 s",
  });
});
