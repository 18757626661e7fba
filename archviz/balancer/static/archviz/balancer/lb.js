// The load-balancer page: wires the lab WebSocket to the LB picture, the charts, the
// algorithm and traffic controls, the event log, and this tab's own requests through the LB.
import { clock } from "../js/lib/clock.js";
import { algorithmLabel } from "../js/lib/algorithms.js";
import { CounterHistory, jainIndex, markerForEvent, sharesOf } from "../js/lib/chartdata.js";
import { text } from "../js/lib/dom.js";
import { LbCharts } from "./charts.js";
import { DOT_SKIP_REASONS } from "./dots.js";
import { lbLogged, otherListener } from "./events.js";
import { AlgorithmPanel, MyRequests, TrafficPanel } from "./panels.js";
import { LbTopology } from "./view.js";
import {
  TRACE_KINDS,
  algorithmRequest,
  controlRequest,
  nodeAddRequest,
  nodeConfigRequest,
  nodeRemoveRequest,
  trafficRequest,
} from "../js/lib/protocol.js";
import { renderSetBy } from "../js/lib/setby.js";
import { ReconnectingSocket } from "../js/lib/socket.js";
import { ConnectionIndicator, InvalidEventsCounter, Notices } from "../js/lib/status.js";
import { TraceLog } from "../js/lib/tracelog.js";

const RATE_WINDOW_MS = 1000; // requests/s per node: smoothed over about a second
const SHARE_WINDOW_MS = 5000; // a node's share of the requests: over the last five seconds
const CHART_SAMPLE_MS = 500;
const CHART_TURN_MS = 250; // one of the four charts redraws per turn: each once a second

function webSocketUrl(path) {
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${window.location.host}${path}`;
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
    this.nodeIds = new Set(); // every node the state has named: whose events the log lists
    this.replay = []; // the welcome's recent events, kept until the first state names the nodes
    this.lastRequestsTotal = null;
    this.routedSinceRecord = 0;
    this.connection = new ConnectionIndicator({ element: document.getElementById("connection-status") });
    this.invalidEvents = new InvalidEventsCounter({ element: document.getElementById("invalid-events") });
    this.notices = new Notices({ container: document.getElementById("notices") });
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
    document.getElementById("node-add")?.addEventListener("click", () => this.send(nodeAddRequest()));
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
      welcome: () => {
        this.replay = frame.recent || [];
      },
      state: () => {
        this.invalidEvents.show(frame.invalid_events);
        this.renderState(frame.state);
      },
      // before the first state the nodes are not known: logged with the replay then
      trace: () => (this.ready ? this.onEvents(frame.events || [], true) : this.replay.push(...(frame.events || []))),
      ack: () => this.onAck(frame),
      error: () => this.onError(frame),
      lagging: () => this.onLagging(frame.dropped),
    }[frame.type];
    if (handler) handler();
  }

  renderState(state) {
    this.serverOffsetMs = state.ts - Date.now();
    const lb = state.lb;
    for (const node of state.nodes) this.nodeIds.add(node.id);
    if (this.replay.length > 0) {
      this.onEvents(this.replay, false);
      this.replay = [];
    }
    this.recordCounters(state);
    const span = lb ? this.served.over(SHARE_WINDOW_MS) : null;
    const shares = span ? sharesOf(span.deltas) : null;
    this.topology.update(state, shares);
    this.algorithm.update(state);
    this.traffic.update(state.traffic);
    renderSetBy(document, state);
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
    text(this.el["last-update"], clock(state.ts));
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
  onEvents(all, live) {
    // The balancer's other listeners' events are other pictures' (events.js otherListener).
    const events = all.filter((e) => !otherListener(e));
    if (live) {
      this.topology.play(events, this.serverOffsetMs);
      this.routedSinceRecord += events.filter((e) => e.kind === "lb.route").length;
    }
    const notable = events.filter((e) => lbLogged(e, this.nodeIds));
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
    if (action === "apply-settings") message = nodeConfigRequest(node, settings);
    else if (action === "remove") message = nodeRemoveRequest(node);
    else message = controlRequest(action, node);
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
