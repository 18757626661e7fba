// The overload page's pure pieces: a node's gauge figures from the lab state, the offered
// load and goodput of the traffic generator's window, and the conclusion the measured numbers
// allow. No DOM, no Plotly; every missing figure stays null ("not reported"), never invented.

const finite = (v) => (typeof v === "number" && Number.isFinite(v) ? v : null);

/** What one node's gauge shows, from state.overload.nodes[i] (heartbeat and pressure report). */
export function nodeFigures(node) {
  const report = node?.report || null;
  const pressure = node?.pressure || null;
  const overload = node?.overload || null;
  const value = finite(report?.value) ?? finite(pressure?.value);
  const thresholds = {
    reject: finite(report?.reject_above) ?? percentOf(overload?.reject_above),
    shed: finite(report?.shed_above) ?? percentOf(overload?.shed_above),
  };
  const normalised = pressure?.normalised && typeof pressure.normalised === "object" ? pressure.normalised : {};
  const signals = Object.entries(normalised)
    .filter(([, v]) => finite(v) !== null)
    .map(([name, v]) => ({ name, value: v }));
  const counter = (key) => finite(report?.[key]) ?? finite(overload?.[key]);
  return {
    id: node?.id ?? "",
    reporting: report !== null,
    pressure: value,
    dominant: report?.dominant || pressure?.dominant || null,
    thresholds,
    signals,
    websockets: finite(report?.websockets) ?? finite(node?.websockets),
    wsLimit: finite(report?.ws_limit) ?? finite(overload?.ws_limit),
    handshakes: counter("handshakes_total"),
    rejected: sumOrNull(counter("rejected_ws_total"), counter("rejected_http_total")),
    shed: counter("shed_total"),
    admitted: finite(node?.admission?.served_total),
    admission: node?.admission || {},
    shedding: Boolean(overload?.shedding),
    fault: overload?.fault || null,
  };
}

function percentOf(v) {
  const n = finite(v);
  return n === null ? null : n / 100;
}

function sumOrNull(a, b) {
  return a === null && b === null ? null : (a ?? 0) + (b ?? 0);
}

/** A 0..1 figure as a percentage, or "not reported". */
export function percentText(value) {
  return value === null || value === undefined ? "not reported" : `${Math.round(value * 100)} %`;
}

/** Where a pressure sits against the thresholds: "ok", "reject" (over reject_above) or "shed". */
export function pressureZone(value, thresholds) {
  if (value === null) return "unknown";
  if (thresholds.shed !== null && value > thresholds.shed) return "shed";
  if (thresholds.reject !== null && value > thresholds.reject) return "reject";
  return "ok";
}

/** The traffic generator's window as rates: asked, offered (sent) and goodput (answered). */
export function goodputSample(traffic) {
  if (!traffic || !traffic.up) return null;
  const window = finite(traffic.window_s);
  if (!window) return null;
  return {
    asked: finite(traffic.rate),
    offered: (finite(traffic.sent) ?? 0) / window,
    goodput: (finite(traffic.ok) ?? 0) / window,
    p99: finite(traffic.latency_ms?.p99),
  };
}

const fmt = (n) => (n >= 10 ? n.toFixed(0) : n.toFixed(1));

/**
 * The seed's conclusion, from the two measurements of the doubled load ({on, off}), or null
 * until both exist: with the limiter goodput holds past capacity; without it, it collapses.
 */
export function conclusionText(measured) {
  const on = measured?.on;
  const off = measured?.off;
  if (!on || !off) return null;
  const share = (m) => (m.base_goodput > 0 ? Math.round((100 * m.goodput) / m.base_goodput) : null);
  const part = (m, words) => {
    const pct = share(m);
    const tail = pct === null ? "" : ` (${pct} % of the ${fmt(m.base_goodput)}/s before)`;
    return `${words}, doubling the offered load to ${fmt(m.rate)} requests/s gave ${fmt(m.goodput)} answered/s${tail}`;
  };
  const verdict =
    on.goodput > off.goodput
      ? `Admission control kept ${fmt(on.goodput - off.goodput)} more answers a second: past capacity, refusing work early holds goodput, while taking it all in lets queues grow until answers come too late.`
      : "Here the limiter did not help goodput: the doubled load may still be within the nodes' capacity. Double it again, or lower capacity, and measure once more.";
  return `${part(on, "With the limiter on")}; ${part(off, "with it off")}. ${verdict}`;
}
