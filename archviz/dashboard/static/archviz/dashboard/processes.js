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
