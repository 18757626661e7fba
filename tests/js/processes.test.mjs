// The Lab page's list of every process: each in words, as the supervisor's records say.
import assert from "node:assert/strict";
import { test } from "node:test";

import { groupLineCount, processGroups, processRows } from "../../archviz/dashboard/static/archviz/dashboard/processes.js";

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

const proc = (id, kind, extra = {}) => ({ id, kind, status: "up", pid: 1, port: null, restarts: 0, detail: "", ...extra });

test("every process but the nodes is in exactly one group, named for what it does", () => {
  const processes = [
    proc("node-1", "node"), proc("dashboard", "dashboard"), proc("lb", "balancer", { port: 8100 }), proc("traffic", "traffic"),
    proc("chatbots", "chatbots"), proc("consumer-1", "consumer"), proc("consumer-2", "consumer"),
    proc("gateway-1", "gateway"), proc("auth", "auth"), proc("catalog-1", "catalog"),
    proc("bidding", "bidding"), proc("auctionbots", "auctionbots"), proc("mystery", "newkind"),
  ];
  const groups = processGroups(processes, { entry_port: 8200, services_port: 8300 });
  assert.deepEqual(groups.map((g) => g.id), ["balancer", "clients", "queue", "gateway", "other"]);
  const drawn = groups.flatMap((g) => g.rows.map((r) => r.process)).sort();
  assert.deepEqual(drawn, processes.filter((p) => !["node", "dashboard"].includes(p.kind)).map((p) => p.id).sort());
  const balancer = groups[0].rows[0];
  assert.equal(balancer.text, "lb · up · pid 1");
  assert.deepEqual(balancer.extra, ["nodes' listener :8100", "gateway's :8200", "services' :8300"]);
  assert.equal(groupLineCount(groups[0]), 4);
  assert.equal(groupLineCount(groups[2]), 2);
});

test("without the gateway demo its group is left out and the balancer's other ports are unknown", () => {
  const groups = processGroups([proc("lb", "balancer", { port: 8100, pid: null, status: "down" })], null);
  assert.deepEqual(groups.map((g) => g.id), ["balancer"]);
  assert.equal(groups[0].rows[0].text, "lb · down · pid —");
  assert.deepEqual(groups[0].rows[0].extra.slice(1), ["gateway's —", "services' —"]);
  assert.deepEqual(processGroups([], null), []);
  assert.deepEqual(processGroups(undefined, null), []);
});
