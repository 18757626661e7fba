// The load-balancer page: wires the lab WebSocket to the LB picture, the charts, the
// algorithm and traffic controls, the event log, and this tab's own requests through the LB.
import { algorithmLabel, describeAlgorithm } from "./lib/algorithms.js";
import { CounterHistory, LbCharts, jainIndex, markerForEvent, nodeColour, sharesOf } from "./lib/charts.js";
import { DOT_SKIP_REASONS, LbTopology } from "./lib/lbview.js";
import { TRACE_KINDS } from "./lib/protocol.js";
import { ReconnectingSocket } from "./lib/socket.js";
import { TraceLog } from "./lib/tracelog.js";

const RATE_WINDOW_MS = 1000; // requests/s per node: smoothed over about a second
const SHARE_WINDOW_MS = 5000; // a node's share of the requests: over the last five seconds
const CHART_SAMPLE_MS = 500;
const CHART_TURN_MS = 250; // one of the four charts redraws per turn: each once a second
const MY_REQUESTS = 10;
const MY_REQUEST_TIMEOUT_MS = 10_000;
const CLOCK = new Intl.DateTimeFormat([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });

// client -> server messages of this page (the lab page's are in lib/protocol.js)
const nodeControl = (action, node) => ({ type: "control", action, node });
const nodeConfig = (node, settings) => ({ type: "node.config", node, settings });
const nodeRemove = (node) => ({ type: "node.remove", node });
const algorithmRequest = (algorithm) => ({ type: "lb.algorithm", algorithm });
const trafficRequest = (settings) => ({ type: "traffic", ...settings });

function webSocketUrl(path) {
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${window.location.host}${path}`;
}

const text = (el, value) => {
  if (el && el.textContent !== value) el.textContent = value;
};

/** Show a message on a panel's message line; it clears itself after a while. */
function say(panel, message, tone) {
  text(panel.message, message);
  panel.message.setAttribute("data-tone", tone);
  clearTimeout(panel.messageTimer);
  if (message) panel.messageTimer = setTimeout(() => text(panel.message, ""), tone === "error" ? 20_000 : 8000);
}

/** The "live / reconnecting in N s… / closed" indicator (as on the lab page). */
class ConnectionIndicator {
  constructor(element) {
    this.element = element;
    this.text = element.querySelector(".text");
    this.status = { state: "connecting" };
  }

  show(status) {
    this.status = status;
    this.render();
  }

  render() {
    const { state, retryAt, code, description } = this.status;
    const cause = description ? ` (${description}, code ${code})` : "";
    const seconds = Math.max(0, Math.ceil((retryAt - Date.now()) / 1000));
    const [dataState, words] = {
      live: ["live", "live"],
      connecting: ["reconnecting", "connecting…"],
      reconnecting: ["reconnecting", `reconnecting in ${seconds} s…${cause}`],
    }[state] || ["closed", `closed${cause}`];
    this.element.setAttribute("data-state", dataState);
    text(this.text, words);
  }
}

/** Dismissable toasts in a corner (as on the lab page). */
class Notices {
  constructor(container) {
    this.container = container;
  }

  show(message, tone = "info") {
    const toast = document.createElement("div");
    toast.className = `toast toast-${tone}`;
    toast.setAttribute("role", tone === "error" ? "alert" : "status");
    const p = document.createElement("p");
    p.textContent = message;
    const close = document.createElement("button");
    close.type = "button";
    close.className = "toast-close";
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "×";
    close.addEventListener("click", () => toast.remove());
    toast.append(p, close);
    this.container.append(toast);
    while (this.container.children.length > 4) this.container.firstElementChild.remove();
    setTimeout(() => toast.remove(), tone === "error" ? 12_000 : 6_000);
  }
}

/** The current algorithm, what it does and what to look for; instructors also get the selector. */
class AlgorithmPanel {
  constructor({ root, onChoose }) {
    this.current = root.querySelector("#current-algorithm");
    this.summary = root.querySelector("#algorithm-summary");
    this.lookFor = root.querySelector("#algorithm-look-for");
    this.message = root.querySelector("#algorithm-message");
    this.select = root.querySelector("#algorithm");
    this.pending = null; // {name, until}
    if (this.select) {
      for (const option of this.select.options) option.textContent = algorithmLabel(option.value);
      this.select.addEventListener("change", () => {
        this.pending = { name: this.select.value, until: Date.now() + 8000 };
        this.say(`Switching to ${algorithmLabel(this.select.value)}…`);
        onChoose(this.select.value);
      });
    }
  }

  update(lb) {
    const name = lb ? lb.algorithm : "";
    if (this.pending && (this.pending.name === name || Date.now() > this.pending.until)) {
      this.pending = null;
      if (lb && name) this.say("");
    }
    const about = describeAlgorithm(name);
    this.current.setAttribute("data-algorithm", name);
    text(this.current, lb ? about.label : "none: the load balancer is not running");
    text(this.summary, lb ? about.summary : "Once the load balancer runs, this says what its algorithm does.");
    text(this.lookFor, lb ? about.lookFor : "");
    this.lookFor.parentElement.hidden = !lb || !about.lookFor;
    if (this.select) {
      this.select.disabled = !lb;
      const focused = document.activeElement === this.select;
      if (lb && !this.pending && !focused && this.select.value !== name) this.select.value = name;
    }
  }

  accepted() {
    this.say("The balancer got the command; the picture shows the switch when it happens.");
  }

  refused(reason) {
    this.pending = null;
    this.say(`Not switched: ${reason}`, "error");
  }

  say(message, tone = "info") {
    say(this, message, tone);
  }
}

const TRAFFIC_FIELDS = [
  { name: "rate", id: "traffic-rate", label: "rate" },
  { name: "work_ms", id: "traffic-work", label: "work ms" },
  { name: "variance_ms", id: "traffic-variance", label: "variance ms" },
  { name: "ws_clients", id: "traffic-ws", label: "WebSocket clients" },
];

/** The traffic generator: settings read-only for learners, start/stop for instructors. */
class TrafficPanel {
  constructor({ root, limits, onSend }) {
    this.limits = limits;
    this.onSend = onSend;
    this.status = root.querySelector("#traffic-status");
    this.message = root.querySelector("#traffic-message");
    this.readOnly = Object.fromEntries(
      [...root.querySelectorAll("[data-traffic]")].map((e) => [e.getAttribute("data-traffic"), e]),
    );
    this.inputs = Object.fromEntries(
      TRAFFIC_FIELDS.map((f) => [f.name, root.querySelector(`#${f.id}`)]).filter(([, e]) => e),
    );
    this.start = root.querySelector("#traffic-start");
    this.stop = root.querySelector("#traffic-stop");
    for (const input of Object.values(this.inputs)) {
      input.addEventListener("input", () => input.setAttribute("data-dirty", "1"));
    }
    this.start?.addEventListener("click", () => this.send(false));
    this.stop?.addEventListener("click", () => this.send(true));
    this.form = root.querySelector("#traffic-form");
    this.form?.addEventListener("submit", (event) => {
      event.preventDefault();
      this.send(false);
    });
  }

  /** The four numbers from the inputs, checked against the server's limits. */
  read(stopping) {
    const settings = {};
    for (const { name, label } of TRAFFIC_FIELDS) {
      const [low, high] = this.limits[name] || [0, Infinity];
      const min = name === "rate" && !stopping ? Math.max(1, low) : low;
      const value = Number(this.inputs[name].value);
      if (this.inputs[name].value.trim() === "" || !Number.isFinite(value) || value < min || value > high) {
        return { error: `${label} must be a number from ${min} to ${high}` };
      }
      settings[name] = name === "ws_clients" ? Math.round(value) : value;
    }
    if (stopping) settings.rate = 0;
    return { settings };
  }

  send(stopping) {
    const { settings, error } = this.read(stopping);
    if (error && !stopping) {
      this.say(error, "error");
      return;
    }
    const fallback = { rate: 0, work_ms: 0, variance_ms: 0, ws_clients: 0 };
    if (this.onSend(settings || fallback)) {
      this.say(stopping ? "Stopping the traffic…" : "Sending the new traffic settings…");
    }
  }

  update(traffic) {
    const sending = Boolean(traffic && traffic.up && traffic.rate > 0);
    text(
      this.status,
      !traffic ? "not running" : sending ? `sending ${Number(traffic.rate).toFixed(0)} req/s` : "stopped",
    );
    this.status.setAttribute("data-state", !traffic ? "down" : sending ? "sending" : "idle");
    const show = (name, value) => text(this.readOnly[name], value);
    show("rate", traffic ? `${Number(traffic.rate).toFixed(0)} /s` : "—");
    show("work_ms", traffic ? `${Number(traffic.work_ms).toFixed(0)} ms` : "—");
    show("variance_ms", traffic ? `± ${Number(traffic.variance_ms).toFixed(0)} ms` : "");
    show("ws_clients", traffic ? `${traffic.ws_open} open of ${traffic.ws_clients}` : "—");
    if (!this.start) return;
    this.start.disabled = !traffic;
    this.stop.disabled = !traffic || !sending;
    text(this.start, sending ? "Apply" : "Start");
    for (const { name } of TRAFFIC_FIELDS) {
      const input = this.inputs[name];
      input.disabled = !traffic;
      const busy = input.hasAttribute("data-dirty") || document.activeElement === input;
      // A stopped generator reports rate 0, which is no rate to start with: keep the input's.
      const shown = traffic && (sending || name !== "rate");
      if (shown && !busy && input.value !== String(traffic[name])) input.value = String(traffic[name]);
    }
  }

  accepted() {
    for (const input of Object.values(this.inputs)) input.removeAttribute("data-dirty");
    this.say("The traffic generator got the new settings.");
  }

  say(message, tone = "info") {
    say(this, message, tone);
  }
}

/** This tab as a client: real requests through the LB, and which node answered each. */
class MyRequests {
  constructor({ button, list, note, summary }) {
    this.button = button;
    this.list = list;
    this.note = note;
    this.summary = summary;
    this.port = null;
    this.running = false;
    button.addEventListener("click", () => this.run());
  }

  update(lb) {
    this.port = lb && lb.port ? lb.port : null;
    this.button.disabled = this.running || !this.port;
    text(
      this.note,
      this.port
        ? `Your browser sends GET http://${window.location.hostname}:${this.port}/work?ms=20 itself: the balancer picks a node for each.`
        : "The load balancer is not running, so there is nothing to send requests through yet.",
    );
  }

  async run() {
    if (!this.port || this.running) return;
    this.running = true;
    this.button.disabled = true;
    this.list.replaceChildren();
    text(this.summary, "");
    const url = `http://${window.location.hostname}:${this.port}/work?ms=20`;
    const counts = {};
    for (let i = 1; i <= MY_REQUESTS; i += 1) {
      const answer = await this.fetchOne(url);
      if (answer.node) counts[answer.node] = (counts[answer.node] || 0) + 1;
      this.list.append(this.row(i, answer));
    }
    const spread = Object.entries(counts).sort(([a], [b]) => a.localeCompare(b, undefined, { numeric: true }));
    text(
      this.summary,
      spread.length ? `Answered by ${spread.map(([n, c]) => `${n}: ${c}`).join(" · ")}` : "No node answered.",
    );
    this.running = false;
    this.button.disabled = !this.port;
  }

  async fetchOne(url) {
    const started = performance.now();
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), MY_REQUEST_TIMEOUT_MS);
    try {
      const response = await fetch(url, { signal: abort.signal, cache: "no-store" });
      const body = await response.json().catch(() => ({}));
      const node = response.headers.get("X-Archviz-Node") || body.node || null;
      const ms = performance.now() - started;
      if (response.ok) return { node, ms, outcome: body.queued ? "queued" : "ok" };
      const why = body.error || response.statusText || "error";
      return { node, ms, outcome: response.status === 503 ? "rejected" : "failed", why: `${response.status} ${why}` };
    } catch (err) {
      const why =
        err.name === "AbortError"
          ? `no answer within ${MY_REQUEST_TIMEOUT_MS / 1000} s`
          : "could not reach the load balancer";
      return { node: null, ms: performance.now() - started, outcome: "failed", why };
    } finally {
      clearTimeout(timer);
    }
  }

  row(i, { node, ms, outcome, why }) {
    const li = document.createElement("li");
    li.setAttribute("data-outcome", outcome);
    if (node) {
      li.setAttribute("data-node", node);
      li.style.setProperty("--node-colour", nodeColour(node));
    }
    const took = `${ms.toFixed(0)} ms`;
    const who = node || "no node";
    const waited = outcome === "queued" ? ", waited in its queue" : "";
    li.textContent = why ? `#${i} → ${who}: ${why} (${took})` : `#${i} → ${who} (${took}${waited})`;
    return li;
  }
}

class LbPage {
  constructor(config) {
    this.config = config;
    this.serverOffsetMs = 0;
    this.ready = false;
    this.lastSampleTs = 0;
    this.served = new CounterHistory(); // requests_total by node, from the balancer
    this.lbTotals = new CounterHistory(); // the balancer's no-backend counter
    this.outOfRotation = new Set(); // nodes the balancer's health checks took out
    this.lastRequestsTotal = null;
    this.routedSinceRecord = 0;
    this.connection = new ConnectionIndicator(document.getElementById("connection-status"));
    this.notices = new Notices(document.getElementById("notices"));
    this.panel = document.getElementById("lb-panel");
    this.el = Object.fromEntries(
      ["redis-banner", "lb-missing", "last-update", "lb-status", "dots-skipped", "lagging-notice", "fairness-now"].map(
        (id) => [id, document.getElementById(id)],
      ),
    );
    this.topology = new LbTopology({
      frame: document.getElementById("lb-frame"),
      svg: document.getElementById("lb-wires"),
      client: document.getElementById("lb-client"),
      balancer: document.getElementById("lb-balancer"),
      nodeList: document.getElementById("lb-nodes"),
      instructor: config.instructor,
      onNodeAction: (action, node, settings) => this.nodeAction(action, node, settings),
      onSkipped: (counts, total) => this.showSkipped(counts, total),
    });
    this.charts = new LbCharts({
      elements: Object.fromEntries(
        ["rps", "latency", "errors", "fairness"].map((k) => [k, document.getElementById(`chart-${k}`)]),
      ),
    });
    this.algorithm = new AlgorithmPanel({
      root: document.getElementById("algorithm-panel"),
      onChoose: (name) => this.send(algorithmRequest(name)),
    });
    this.traffic = new TrafficPanel({
      root: document.getElementById("traffic-panel"),
      limits: config.traffic_limits || {},
      onSend: (settings) => this.send(trafficRequest(settings)),
    });
    this.mine = new MyRequests({
      button: document.getElementById("send-requests"),
      list: document.getElementById("my-requests"),
      note: document.getElementById("send-requests-note"),
      summary: document.getElementById("my-requests-summary"),
    });
    document.getElementById("node-add")?.addEventListener("click", () => this.send({ type: "node.add" }));
    this.log = new TraceLog({
      list: document.getElementById("trace-log"),
      describeKind: (kind) => TRACE_KINDS[kind] || "",
    });
    this.socket = new ReconnectingSocket({
      url: webSocketUrl(config.ws_path),
      onMessage: (frame) => this.handle(frame),
      onStatus: (status) => this.onStatus(status),
      onProtocolError: (err) =>
        this.notices.show(`A message from the server could not be read: ${err.message}`, "error"),
    });
  }

  start() {
    this.socket.start();
    setInterval(() => this.connection.render(), 500);
    setInterval(() => this.charts.render(this.serverNow()), CHART_TURN_MS);
  }

  serverNow() {
    return Date.now() + this.serverOffsetMs;
  }

  onStatus(status) {
    this.connection.show(status);
    this.panel.classList.toggle("stale", status.state !== "live");
    if (status.state !== "live") this.topology.clearDots();
  }

  handle(frame) {
    const handler = {
      welcome: () => this.onEvents(frame.recent || [], false),
      state: () => this.renderState(frame.state),
      trace: () => this.onEvents(frame.events || [], true),
      ack: () => this.onAck(frame),
      error: () => this.onError(frame),
      lagging: () => this.onLagging(frame.dropped),
    }[frame.type];
    if (handler) handler();
  }

  renderState(state) {
    this.serverOffsetMs = state.ts - Date.now();
    const lb = state.lb;
    this.recordCounters(state);
    const span = lb ? this.served.over(SHARE_WINDOW_MS) : null;
    const shares = span ? sharesOf(span.deltas) : null;
    this.topology.update(state, shares);
    this.algorithm.update(lb);
    this.traffic.update(state.traffic);
    this.mine.update(lb);
    this.renderStatus(state);
    this.sampleCharts(state);
    if (!this.ready) {
      this.ready = true;
      document.body.setAttribute("data-ready", "1");
    }
  }

  /**
   * Keep the balancer's counters for rates and shares. A snapshot that has not changed although
   * requests were routed since is stale (a busy balancer skips heartbeats): it is not recorded,
   * so a pause in its reports does not read as a pause in traffic.
   */
  recordCounters(state) {
    const lb = state.lb;
    if (!lb) {
      this.served.clear();
      this.lbTotals.clear();
      return;
    }
    const stale = lb.requests_total === this.lastRequestsTotal && this.routedSinceRecord > 0;
    if (!state.redis.up || stale) return;
    this.lastRequestsTotal = lb.requests_total;
    this.routedSinceRecord = 0;
    this.served.record(state.ts, Object.fromEntries(lb.backends.map((b) => [b.id, b.requests_total])));
    this.lbTotals.record(state.ts, { noBackend: lb.no_backend_total });
  }

  renderStatus(state) {
    const lb = state.lb;
    this.el["redis-banner"].hidden = state.redis.up;
    this.el["lb-missing"].hidden = Boolean(lb);
    this.panel.classList.toggle("lb-down", !lb);
    text(this.el["last-update"], CLOCK.format(state.ts));
    const status = this.el["lb-status"];
    status.setAttribute("data-state", lb ? "up" : "down");
    text(
      status.querySelector(".text"),
      lb ? `running on port ${lb.port ?? "—"} · ${algorithmLabel(lb.algorithm)}` : "not running",
    );
  }

  /** One point per chart series about twice a second; a part the lab cannot measure now is a gap. */
  sampleCharts(state) {
    if (state.ts - this.lastSampleTs < CHART_SAMPLE_MS * 0.9) return;
    this.lastSampleTs = state.ts;
    const { lb, traffic } = state;
    const live = state.redis.up;
    const fresh = lb && live && state.ts - this.served.latestTs < 2 * RATE_WINDOW_MS;
    const rps = fresh
      ? this.served.ratesOver(RATE_WINDOW_MS)
      : Object.fromEntries((lb?.backends || []).map((b) => [b.id, null]));
    const window = traffic && traffic.window_s > 0 ? traffic.window_s : null;
    const perSecond = (n) => (window && live ? n / window : null);
    const weights = Object.fromEntries(state.nodes.map((n) => [n.id, Math.max(1, n.weight)]));
    const inRotation = (lb?.backends || []).filter((b) => b.health === "healthy" || b.health === "unknown");
    const fairness = jainIndex(inRotation.map((b) => (rps[b.id] ?? NaN) / (weights[b.id] || 1)));
    this.charts.push(state.ts, {
      rps,
      latency: traffic && live && traffic.sent > 0 ? traffic.latency_ms : null,
      errors: {
        rejected: traffic ? perSecond(traffic.rejected) : null,
        failed: traffic ? perSecond(traffic.failed) : null,
        noBackend: fresh ? this.lbTotals.ratesOver(RATE_WINDOW_MS).noBackend : null,
      },
      fairness,
    });
    text(this.el["fairness-now"], fairness === null ? "—" : fairness.toFixed(2));
  }

  /** Trace events: routed requests become dots; the rest go to the log and, if notable, the charts. */
  onEvents(events, live) {
    if (live) {
      this.topology.play(events, this.serverOffsetMs);
      this.routedSinceRecord += events.filter((e) => e.kind === "lb.route").length;
    }
    const notable = events.filter((e) => e.kind !== "lb.route");
    this.log.add(notable);
    for (const event of [...notable].sort((a, b) => a.ts - b.ts)) {
      const marker = this.worthMarking(event) ? markerForEvent(event, algorithmLabel) : null;
      if (marker) this.charts.mark(marker, this.serverNow());
    }
  }

  /** Health changes are marked when a node leaves rotation and when it returns, not at a new node's first check. */
  worthMarking(event) {
    if (event.kind !== "lb.health") return true;
    if (!event.ok) {
      this.outOfRotation.add(event.dst);
      return true;
    }
    return this.outOfRotation.delete(event.dst);
  }

  send(message) {
    if (this.socket.send(message)) return true;
    this.notices.show("Not connected to the lab right now; try again when the indicator says live.", "error");
    return false;
  }

  nodeAction(action, node, settings) {
    const card = this.topology.card(node);
    let message;
    if (action === "apply-settings") message = nodeConfig(node, settings);
    else if (action === "remove") message = nodeRemove(node);
    else message = nodeControl(action, node);
    if (this.send(message) && card) card.feedback(`${action === "apply-settings" ? "settings" : action} sent…`);
  }

  onAck(frame) {
    const card = frame.node ? this.topology.card(frame.node) : null;
    const done = {
      "lb.algorithm": () => this.algorithm.accepted(),
      traffic: () => this.traffic.accepted(),
      "node.add": () =>
        this.notices.show(
          `${frame.node} added: the supervisor starts it and the balancer picks it up once it registers.`,
        ),
      "node.remove": () => this.notices.show(`${frame.node} is being removed: the balancer stops sending it requests.`),
      "node.config": () => {
        card?.settingsAccepted();
        card?.feedback("Settings saved; the node applies them live.");
      },
    }[frame.action];
    if (done) {
      done();
    } else if (card) {
      card.feedback(`${frame.action} accepted: watch the picture and the charts.`);
    }
  }

  onError(frame) {
    const card = frame.node ? this.topology.card(frame.node) : null;
    if (frame.request === "lb.algorithm") this.algorithm.refused(frame.reason);
    else if (frame.request === "traffic") this.traffic.say(`Refused: ${frame.reason}`, "error");
    else if (card) card.feedback(`Refused: ${frame.reason}`, "error");
    this.notices.show(frame.reason, "error");
  }

  onLagging(dropped) {
    const notice = this.el["lagging-notice"];
    this.laggingDropped = (this.laggingDropped || 0) + dropped;
    notice.textContent = `your tab missed ${this.laggingDropped} updates (slow connection)`;
    notice.hidden = false;
    clearTimeout(this.laggingTimer);
    this.laggingTimer = setTimeout(() => {
      notice.hidden = true;
      this.laggingDropped = 0;
    }, 20_000);
  }

  /** Called for every skipped dot, so the counter is redrawn at most four times a second. */
  showSkipped(counts, total) {
    this.skipped = { counts, total };
    if (!this.skippedTimer) {
      this.skippedTimer = setTimeout(() => {
        this.skippedTimer = null;
        this.drawSkipped(this.skipped.counts, this.skipped.total);
      }, 250);
    }
  }

  drawSkipped(counts, total) {
    const counter = this.el["dots-skipped"];
    counter.textContent = String(total);
    const why = Object.entries(counts)
      .filter(([, n]) => n > 0)
      .map(([reason, n]) => `${n}: ${DOT_SKIP_REASONS[reason]}`)
      .join("; ");
    counter.parentElement.title = `Requests not drawn as dots (the counters and charts still count every one). ${why}`;
    counter.parentElement.classList.toggle("nonzero", total > 0);
  }
}

const config = JSON.parse(document.getElementById("lab-config").textContent);
new LbPage(config).start();
