// The Lab page's list of every process the supervisor runs: nodes, the balancer, the traffic
// generator, consumers, bots, the gateway demo's services, the dashboards. Pure rows first, then the table.

function cell(text, className = "") {
  const td = document.createElement("td");
  if (className) td.className = className;
  td.textContent = text; // data, never HTML
  return td;
}

const KIND_WORDS = {
  dashboard: "dashboard", // one, or ARCHVIZ_DASHBOARDS of them (a phone column is narrow)
  node: "worker node",
  balancer: "load balancer",
  traffic: "traffic generator",
  consumer: "queue consumer",
  chatbots: "chat bots",
  gateway: "API gateway replica",
  auth: "auth service",
  catalog: "catalog service",
  bidding: "bidding service (gRPC)",
  auctionbots: "bidding bots",
  overloadclients: "overload clients",
  recorder: "flight recorder (keyframes and markers)",
};

// The topology draws every process but the nodes and dashboards (boxes of their own) in these
// groups, by what they do; a kind no group names goes in the last, so nothing is left out.
const GROUPS = [
  { id: "balancer", title: "load balancer", kinds: ["balancer"] },
  { id: "clients", title: "traffic and bots", kinds: ["traffic", "chatbots", "overloadclients", "auctionbots"] },
  { id: "queue", title: "queue consumers", kinds: ["consumer"] },
  { id: "gateway", title: "API gateway demo", kinds: ["gateway", "auth", "catalog", "bidding"] },
];
const OTHER = { id: "other", title: "other processes" };

/** The balancer's listeners and their ports: the nodes' (its own port), the gateway
 * replicas' and the catalog services' (as the gateway state reads them from its metrics). */
export function listenerLines(process, gateway) {
  const port = (p) => (p == null ? "—" : `:${p}`);
  return [
    `nodes' listener ${port(process.port)}`,
    `gateway's ${port(gateway?.entry_port)}`,
    `services' ${port(gateway?.services_port)}`,
  ];
}

const OWN_BOXES = new Set(["node", "dashboard"]);

/** Every process but the nodes and dashboards, grouped for the topology (pure): [{id, title, rows}], each row
 * {process, status, text, extra: [more lines]}. Empty groups are left out. */
export function processGroups(processes, gateway = null) {
  const known = new Set(GROUPS.flatMap((g) => g.kinds));
  const rowOf = (p) => ({
    process: p.id,
    status: p.status,
    text: `${p.id} · ${p.status} · pid ${p.pid ?? "—"}`,
    extra: p.kind === "balancer" ? listenerLines(p, gateway) : [],
  });
  const others = (processes || []).filter((p) => !OWN_BOXES.has(p.kind));
  const groups = [
    ...GROUPS.map((g) => ({ ...g, members: others.filter((p) => g.kinds.includes(p.kind)) })),
    { ...OTHER, members: others.filter((p) => !known.has(p.kind)) },
  ];
  return groups
    .filter((g) => g.members.length > 0)
    .map((g) => ({ id: g.id, title: g.title, rows: g.members.map(rowOf) }));
}

/** The lines a group's box holds: one per process, plus a process's extra lines. */
export function groupLineCount(group) {
  return group.rows.reduce((n, row) => n + 1 + row.extra.length, 0);
}

/** One row per process, in the state's order: what it is, in words, and how it is. */
export function processRows(processes) {
  return processes.map((p) => ({
    id: p.id,
    what: KIND_WORDS[p.kind] || p.kind,
    status: p.status,
    pid: p.pid == null ? "—" : String(p.pid),
    port: p.port == null ? "—" : String(p.port),
    restarts: String(p.restarts),
    detail: p.detail || "",
  }));
}

/** Fill the table body with the rows (text only, never HTML). */
export function renderProcesses(tbody, processes) {
  const rows = processRows(processes || []);
  tbody.replaceChildren(
    ...rows.map((row) => {
      const tr = document.createElement("tr");
      tr.dataset.process = row.id;
      tr.dataset.status = row.status;
      const chip = document.createElement("span");
      chip.className = `status-chip tone-${row.status}`;
      chip.textContent = row.status;
      const status = cell("");
      status.append(chip);
      tr.append(cell(row.id, "mono"), cell(row.what), status, cell(row.pid, "mono"),
        cell(row.port, "mono"), cell(row.restarts, "mono"), cell(row.detail, "detail-text"));
      return tr;
    }),
  );
}
