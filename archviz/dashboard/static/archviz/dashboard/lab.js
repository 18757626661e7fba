// The lab page: wires the WebSocket to the topology, the animator, the trace log and the panels.
import { TRACE_KINDS, componentBoxId, controlRequest, pingRequest } from "../js/lib/protocol.js";
import { renderSetBy } from "../js/lib/setby.js";
import { ReconnectingSocket } from "../js/lib/socket.js";
import { ConnectionIndicator, InvalidEventsCounter, Notices, ackText } from "../js/lib/status.js";
import { SKIP_REASONS, TraceAnimator } from "../js/lib/animator.js";
import { formatMegabytes } from "../js/lib/svg.js";
import { renderProcesses } from "./processes.js";
import { Topology } from "./topology.js";
import { TraceLog, formatMs } from "../js/lib/tracelog.js";

const PING_TIMEOUT_MS = 10_000;
const MAX_REMEMBERED_TRACES = 50;
const STACKED_LAYOUT = window.matchMedia("(max-width: 1200px)"); // mirrors lab.css

/** "4.2 s", "3 min 5 s", "2 h 14 min" */
function formatDuration(ms) {
  const s = Math.max(0, ms) / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.floor(s % 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

function webSocketUrl(path) {
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${window.location.host}${path}`;
}

/** Remembers this tab's pings so their dots and log rows can be highlighted. */
class PingTracker {
  constructor() {
    this.pending = null; // {node, sentAt, trace}
    this.traces = new Set();
  }

  sent(node) {
    this.pending = { node, sentAt: Date.now(), trace: null };
  }

  remember(trace) {
    this.traces.add(trace);
    if (this.traces.size > MAX_REMEMBERED_TRACES) {
      this.traces.delete(this.traces.values().next().value);
    }
  }

  /** While a ping is pending, the dashboard's request to that node starts our trace. */
  observe(event) {
    const p = this.pending;
    if (p && !p.trace && event.kind === "http.request" && componentBoxId(event.src) === "dashboard" && event.dst === p.node) {
      p.trace = event.trace;
      this.remember(event.trace);
    }
  }

  isMine(event) {
    return this.traces.has(event.trace);
  }

  answered(pong) {
    this.remember(pong.trace);
    this.pending = null;
  }

  /** The pending ping, if this error frame answers it (then it is no longer pending). */
  failedWith(frame) {
    const p = this.pending;
    if (p && frame.request === "ping" && frame.node === p.node) {
      this.pending = null;
      return p;
    }
    return null;
  }

  timedOut() {
    const p = this.pending;
    if (p && Date.now() - p.sentAt > PING_TIMEOUT_MS) {
      this.pending = null;
      return p;
    }
    return null;
  }
}

/** The details panel of the selected node. */
class NodeDetails {
  constructor({ root, onAction }) {
    this.root = root;
    this.nodeId = null;
    this.view = null;
    this.gone = false;
    this.fields = {};
    for (const el of root.querySelectorAll("[data-detail]")) {
      this.fields[el.getAttribute("data-detail")] = el;
    }
    this.sections = {};
    for (const el of root.querySelectorAll("[data-show]")) {
      this.sections[el.getAttribute("data-show")] = el;
    }
    this.buttons = [...root.querySelectorAll("button[data-action]")];
    for (const button of this.buttons) {
      button.addEventListener("click", () => {
        if (this.nodeId) onAction(button.getAttribute("data-action"), this.nodeId);
      });
    }
    this.pingResult = root.querySelector("#ping-result");
  }

  select(nodeId, view) {
    if (nodeId !== this.nodeId) {
      this.pingResult.textContent = "";
    }
    this.nodeId = nodeId;
    this.root.setAttribute("data-node-id", nodeId);
    this.view = view;
    this.gone = !view;
    this.showSection(view ? "node" : "gone");
  }

  showSection(name) {
    for (const [key, el] of Object.entries(this.sections)) {
      el.hidden = key !== name;
    }
  }

  update(state) {
    if (!this.nodeId) return;
    const view = state.nodes.find((n) => n.id === this.nodeId) || null;
    if (!view !== this.gone) {
      this.select(this.nodeId, view);
    }
    this.view = view;
  }

  render(serverNow) {
    const v = this.view;
    if (!v) return;
    const f = this.fields;
    const set = (name, text) => {
      if (f[name] && f[name].textContent !== text) f[name].textContent = text;
    };
    set("id", v.id);
    set("name", v.name && v.name !== v.id ? v.name : "");
    set("status", v.status);
    f.status.setAttribute("data-status", v.status);
    set("detail", v.detail || "—");
    set("pid", v.pid === null ? "—" : String(v.pid));
    set("port", v.port === null ? "—" : String(v.port));
    set("connections", String(v.connections));
    set("rps", Number(v.rps).toFixed(1));
    set("rss", formatMegabytes(v.rss_bytes));
    const running = v.started_at !== null && ["up", "starting", "paused"].includes(v.status);
    set("uptime", running ? formatDuration(serverNow - v.started_at) : "not running");
    set("heartbeat", v.heartbeat_ts === null ? "none yet" : `${formatDuration(serverNow - v.heartbeat_ts)} ago`);
    set("restarts", String(v.restarts));
    set("weight", String(v.weight));
    set("capacity", String(v.capacity));
    set("latency", `${v.latency_ms} ms`);
  }

  showPingResult(text, ok = true) {
    this.pingResult.textContent = text;
    this.pingResult.classList.toggle("failed", !ok);
  }
}

class LabPage {
  constructor(config) {
    this.config = config;
    this.serverOffsetMs = 0;
    this.ready = false;
    this.nodes = [];
    this.connection = new ConnectionIndicator({ element: document.getElementById("connection-status") });
    this.invalidEvents = new InvalidEventsCounter({ element: document.getElementById("invalid-events") });
    this.notices = new Notices({ container: document.getElementById("notices") });
    this.pings = new PingTracker();
    this.topologyPanel = document.getElementById("topology-panel");
    this.redisBanner = document.getElementById("redis-banner");
    this.lastUpdate = document.getElementById("last-update");
    this.lagging = document.getElementById("lagging-notice");
    this.laggingDropped = 0;
    this.laggingTimer = null;
    this.topology = new Topology({
      svg: document.getElementById("topology"),
      onSelect: (id) => this.select(id),
      redisAddress: config.redis_address || "",
    });
    this.details = new NodeDetails({
      root: document.getElementById("node-details"),
      onAction: (action, node) => this.act(action, node),
    });
    this.skippedCounter = document.getElementById("animations-skipped");
    this.animator = new TraceAnimator({
      layer: this.topology.dotLayer,
      pathBetween: (src, dst) => this.topology.pathBetween(src, dst),
      onArrive: (event) => this.topology.flash(event.dst, event.ok),
      onSkipped: (counts, total) => this.showSkipped(counts, total),
      isHighlighted: (event) => this.pings.isMine(event),
    });
    this.log = new TraceLog({
      list: document.getElementById("trace-log"),
      isMine: (event) => this.pings.isMine(event),
      describeKind: (kind) => TRACE_KINDS[kind] || "",
    });
    this.socket = new ReconnectingSocket({
      url: webSocketUrl(config.ws_path),
      onMessage: (frame) => this.handle(frame),
      onStatus: (status) => this.onStatus(status),
      onProtocolError: (err) => this.notices.show(`A message from the server could not be read: ${err.message}`, "error"),
    });
  }

  start() {
    this.socket.start();
    setInterval(() => this.tick(), 500);
  }

  tick() {
    this.connection.render();
    this.details.render(this.serverNow());
    const timedOut = this.pings.timedOut();
    if (timedOut) {
      this.details.showPingResult(`No pong from ${timedOut.node} within ${PING_TIMEOUT_MS / 1000} s. Is it up?`, false);
    }
  }

  serverNow() {
    return Date.now() + this.serverOffsetMs;
  }

  onStatus(status) {
    this.connection.show(status);
    this.topologyPanel.classList.toggle("stale", status.state !== "live");
    if (status.state !== "live") {
      this.animator.clear();
    }
  }

  handle(frame) {
    const handler = {
      welcome: () => this.log.add(frame.recent || []),
      state: () => {
        this.invalidEvents.show(frame.invalid_events);
        this.renderState(frame.state);
      },
      trace: () => this.onTrace(frame.events || []),
      pong: () => this.onPong(frame),
      ack: () => this.notices.show(ackText(frame)),
      error: () => this.onError(frame),
      lagging: () => this.onLagging(frame.dropped),
    }[frame.type];
    handler();
  }

  renderState(state) {
    this.serverOffsetMs = state.ts - Date.now();
    this.nodes = state.nodes;
    this.topology.update(state);
    this.details.update(state);
    renderProcesses(document.getElementById("process-list"), state.processes);
    renderSetBy(document, state);
    this.details.render(this.serverNow());
    this.redisBanner.hidden = state.redis.up;
    this.topologyPanel.classList.toggle("redis-down", !state.redis.up);
    this.lastUpdate.textContent = new Date(state.ts).toLocaleTimeString([], { hour12: false });
    if (!this.ready) {
      this.ready = true;
      document.body.setAttribute("data-ready", "1");
    }
  }

  onTrace(events) {
    for (const event of events) {
      this.pings.observe(event);
    }
    this.log.add(events);
    this.animator.play(events);
  }

  onPong(pong) {
    this.pings.answered(pong);
    this.log.markTrace(pong.trace);
    this.details.showPingResult(
      `Pong from ${pong.node} after ${formatMs(pong.ms)}. Pings ${pong.node} has answered so far: ${pong.count} (counted in Redis, so the count outlives the process).`,
    );
  }

  onError(frame) {
    const failed = this.pings.failedWith(frame);
    if (failed) {
      this.details.showPingResult(`Ping to ${failed.node} failed: ${frame.reason}`, false);
    }
    this.notices.show(frame.reason, "error");
  }

  onLagging(dropped) {
    this.laggingDropped += dropped;
    this.lagging.textContent = `your tab missed ${this.laggingDropped} updates (slow connection)`;
    this.lagging.hidden = false;
    clearTimeout(this.laggingTimer);
    this.laggingTimer = setTimeout(() => {
      this.lagging.hidden = true;
      this.laggingDropped = 0;
    }, 20_000);
  }

  showSkipped(counts, total) {
    this.skippedCounter.textContent = String(total);
    const why = Object.entries(counts)
      .filter(([, n]) => n > 0)
      .map(([reason, n]) => `${n}: ${SKIP_REASONS[reason]}`)
      .join("; ");
    this.skippedCounter.parentElement.title = `Not animated (the trace log still lists every event). ${why}`;
    this.skippedCounter.parentElement.classList.toggle("nonzero", total > 0);
  }

  select(nodeId) {
    this.topology.select(nodeId);
    this.details.select(nodeId, this.nodes.find((n) => n.id === nodeId) || null);
    this.details.render(this.serverNow());
    if (STACKED_LAYOUT.matches) {
      // The details sit below the picture on narrow screens: bring them into view.
      this.details.root.scrollIntoView({ block: "nearest", behavior: "smooth" });
    }
  }

  act(action, node) {
    const message = action === "ping" ? pingRequest(node) : controlRequest(action, node);
    if (!this.socket.send(message)) {
      this.notices.show("Not connected to the lab right now; try again when the indicator says live.", "error");
      return;
    }
    if (action === "ping") {
      this.pings.sent(node);
      this.details.showPingResult(`Ping sent to ${node}… watch the highlighted dots.`);
    }
  }
}

const config = JSON.parse(document.getElementById("lab-config").textContent);
new LabPage(config).start();
