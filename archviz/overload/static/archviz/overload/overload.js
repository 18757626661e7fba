// The overload page: wires the lab WebSocket to the node cards, the four charts, the
// scenarios (instructors; checked again on the server), the conclusion, the event log, and
// this tab's own WebSocket through the load balancer (tab.js).
import { clock } from "../js/lib/clock.js";
import { CounterHistory } from "../js/lib/chartdata.js";
import { text } from "../js/lib/dom.js";
import {
  TRACE_KINDS,
  overloadBalloonRequest,
  overloadClientsRequest,
  overloadDoubleRequest,
  overloadHogRequest,
  overloadReconnectRequest,
  overloadRestoreRequest,
  overloadShedPolicyRequest,
  overloadShedRequest,
} from "../js/lib/protocol.js";
import { renderSetBy } from "../js/lib/setby.js";
import { ReconnectingSocket } from "../js/lib/socket.js";
import { ConnectionIndicator, InvalidEventsCounter, Notices } from "../js/lib/status.js";
import { TraceLog } from "../js/lib/tracelog.js";
import { OverloadCharts } from "./charts.js";
import { conclusionText, goodputSample } from "./figures.js";
import { backoffOf } from "./reconnect.js";
import { HoldClient, holdUrl, tabEventText } from "./tab.js";
import { NodeCards } from "./view.js";

const SAMPLE_MS = 500;
const STORM_WINDOW_MS = 1000; // handshakes/s: over about a second, so a herd shows as a spike
const CHART_TURN_MS = 250;
// The log lists what is notable: not routing and HTTP, nor each refused handshake (a flood
// refuses hundreds a second; the node cards count them as "rejected").
const LOGGED = (e) => !["lb.route", "http.request", "http.response", "shed.reject"].includes(e.kind);
const $ = (id) => document.getElementById(id);

function webSocketUrl(path) {
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${window.location.host}${path}`;
}

const whole = (id) => Number.parseInt($(id).value, 10);

class OverloadPage {
  constructor(config) {
    this.config = config;
    this.serverOffsetMs = 0;
    this.ready = false;
    this.lastSampleTs = 0;
    this.reconnect = null;
    this.handshakes = new CounterHistory();
    this.connection = new ConnectionIndicator({ element: $("connection-status") });
    this.invalidEvents = new InvalidEventsCounter({ element: $("invalid-events") });
    this.notices = new Notices({ container: $("notices") });
    this.cards = new NodeCards({ container: $("ov-nodes") });
    this.charts = new OverloadCharts({
      elements: Object.fromEntries(["goodput", "p99", "admission", "timing", "storm"].map((k) => [k, $(`chart-${k}`)])),
    });
    this.log = new TraceLog({ list: $("trace-log"), describeKind: (kind) => TRACE_KINDS[kind] || "" });
    this.socket = new ReconnectingSocket({
      url: webSocketUrl(config.ws_path),
      onMessage: (frame) => this.handle(frame),
      onStatus: (status) => this.connection.show(status),
      onProtocolError: (err) => this.notices.show(`A message from the server could not be read: ${err.message}`, "error"),
    });
    this.tab = null;
    $("tab-toggle").addEventListener("click", () => this.toggleTab());
    if (config.instructor) this.wireScenarios();
  }

  start() {
    this.socket.start();
    setInterval(() => this.connection.render(), 500);
    setInterval(() => this.charts.render(Date.now() + this.serverOffsetMs), CHART_TURN_MS);
  }

  handle(frame) {
    const handler = {
      welcome: () => this.onEvents(frame.recent || []),
      state: () => {
        this.invalidEvents.show(frame.invalid_events);
        this.renderState(frame.state);
      },
      trace: () => this.onEvents(frame.events || []),
      ack: () => this.say(`Done: ${frame.action}${frame.node ? ` on ${frame.node}` : ""}.`, "ok"),
      error: () => this.say(frame.reason, "error"),
    }[frame.type];
    if (handler) handler();
  }

  renderState(state) {
    this.serverOffsetMs = state.ts - Date.now();
    renderSetBy(document, state);
    const overload = state.overload;
    $("redis-banner").hidden = state.redis.up;
    text($("last-update"), clock(state.ts));
    if (overload) {
      this.reconnect = overload.reconnect;
      this.cards.update(overload.nodes);
      this.renderPolicies(overload);
      this.renderConclusion(overload.measured);
      this.handshakes.record(state.ts, this.handshakeTotals(overload.nodes));
    }
    this.fillNodeChoices(state.nodes.map((n) => n.id));
    this.lbPort = state.lb?.port ?? null;
    if (!this.tab && this.lbPort && !this.tabOff) this.startTab();
    this.renderTabNote();
    this.sampleCharts(state);
    if (!this.ready) {
      this.ready = true;
      document.body.setAttribute("data-ready", "1");
    }
  }

  /** Nodes whose report or heartbeat counts handshakes; the others are left out, not zeroed. */
  handshakeTotals(nodes) {
    const totals = {};
    for (const n of nodes) {
      const total = n.report?.handshakes_total ?? n.overload?.handshakes_total;
      if (Number.isFinite(total)) totals[n.id] = total;
    }
    return totals;
  }

  renderPolicies(overload) {
    const r = overload.reconnect;
    text($("limiter-now"), overload.limiter === "off" ? "off (admission none, thresholds 100 %)" : "on");
    text($("reconnect-now"), `${r.policy} (base ${r.base_ms} ms, cap ${r.cap_ms} ms)`);
    const policies = [...new Set(overload.nodes.map((n) => n.overload?.shed_policy).filter(Boolean))];
    text($("shed-policy-now"), policies.length ? policies.join(", ") : "not reported");
    const double = overload.double;
    text(
      $("double-now"),
      double ? `running: ${double.rate}/s (twice ${double.base_rate}/s), limiter ${double.limiter}` : "not running",
    );
  }

  renderConclusion(measured) {
    const words = conclusionText(measured);
    $("conclusion").hidden = !words;
    $("conclusion-pending").hidden = Boolean(words);
    if (words) text($("conclusion"), words);
    for (const mode of ["on", "off"]) {
      const m = measured?.[mode];
      text($(`measured-${mode}`), m ? `${m.goodput}/s answered of ${m.offered}/s offered (asked ${m.rate}/s)` : "not measured yet");
    }
  }

  fillNodeChoices(ids) {
    for (const select of document.querySelectorAll("select[data-nodes]")) {
      const wanted = [...(select.dataset.nodes === "lb" ? ["lb"] : []), ...ids];
      const have = [...select.options].map((o) => o.value);
      if (have.join() === wanted.join()) continue;
      const chosen = select.value || select.dataset.default;
      select.replaceChildren(
        ...wanted.map((id) => {
          const option = document.createElement("option");
          option.value = id;
          option.textContent = id === "lb" ? "through the load balancer" : id;
          return option;
        }),
      );
      if (wanted.includes(chosen)) select.value = chosen;
    }
  }

  sampleCharts(state) {
    if (state.ts - this.lastSampleTs < SAMPLE_MS * 0.9) return;
    this.lastSampleTs = state.ts;
    const live = state.redis.up;
    const g = live ? goodputSample(state.traffic) : null;
    const admission = {};
    for (const n of state.overload?.nodes || []) {
      if (n.admission && Number.isFinite(n.admission.limit)) admission[n.id] = n.admission;
    }
    const fresh = live && state.ts - this.handshakes.latestTs < 2 * STORM_WINDOW_MS;
    this.charts.push(state.ts, {
      goodput: g ? { asked: g.asked, offered: g.offered, goodput: g.goodput } : {},
      p99: g && state.traffic.sent > 0 ? g.p99 : null,
      admission,
      storm: fresh ? this.handshakes.ratesOver(STORM_WINDOW_MS) : {},
    });
  }

  onEvents(events) {
    const shown = events.filter(LOGGED);
    this.log.add(shown);
    const now = Date.now() + this.serverOffsetMs;
    for (const event of [...shown].sort((a, b) => a.ts - b.ts)) this.charts.markEvent(event, now);
  }

  // ---- the learner's own tab ----------------------------------------------------------

  startTab() {
    this.tabOff = false;
    this.tab = new HoldClient({
      url: holdUrl(window.location, this.lbPort, this.config.hold_path, this.config.ticket),
      policy: () => ({ policy: this.reconnect?.policy || "full_jitter", backoff: backoffOf(this.reconnect) }),
      onChange: (client) => this.renderTab(client),
    }).start();
  }

  toggleTab() {
    if (this.tab) {
      this.tab.stop();
      this.tab = null;
      this.tabOff = true;
    } else if (this.lbPort) {
      this.startTab();
    }
    this.renderTabNote();
  }

  renderTabNote() {
    text($("tab-toggle"), this.tab ? "Disconnect my tab" : "Connect my tab");
    $("tab-toggle").disabled = !this.lbPort;
    if (!this.lbPort) text($("tab-node"), "the load balancer is not running");
  }

  renderTab(client) {
    const root = $("tab-panel");
    root.setAttribute("data-status", client.status);
    const words = {
      connecting: "connecting through the load balancer…",
      connected: client.node,
      waiting: `waiting to reconnect (${client.options.policy().policy})`,
      stopped: "disconnected",
      idle: "—",
    }[client.status];
    text($("tab-node"), words);
    const list = $("tab-events");
    list.replaceChildren(
      ...client.events.map((e) => {
        const li = document.createElement("li");
        li.setAttribute("data-kind", e.kind);
        const time = document.createElement("span");
        time.className = "mono hint";
        time.textContent = `${clock(e.ts)} `;
        li.append(time, tabEventText(e));
        return li;
      }),
    );
  }

  // ---- the scenarios (instructors) ------------------------------------------------------

  wireScenarios() {
    const actions = {
      flood: () => overloadClientsRequest(whole("flood-count"), $("flood-target").value, whole("flood-seconds")),
      "flood-stop": () => overloadClientsRequest(0, $("flood-target").value),
      hog: () => overloadHogRequest($("hog-node").value, whole("hog-seconds")),
      balloon: () => overloadBalloonRequest($("balloon-node").value, whole("balloon-mb"), whole("balloon-seconds")),
      shed: () => overloadShedRequest($("shed-node").value, whole("shed-percent")),
      "double-on": () => overloadDoubleRequest("on"),
      "double-off": () => overloadDoubleRequest("off"),
      restore: () => overloadRestoreRequest(),
      reconnect: () =>
        overloadReconnectRequest($("reconnect-policy").value, {
          baseMs: whole("reconnect-base"),
          capMs: whole("reconnect-cap"),
        }),
      "shed-policy": () => overloadShedPolicyRequest($("shed-policy").value),
    };
    for (const button of document.querySelectorAll("#scenario-panel button[data-action]")) {
      button.addEventListener("click", () => {
        const message = actions[button.dataset.action]();
        if (this.socket.send(message)) this.say(`Sent: ${message.type}…`, "info");
        else this.say("Not connected to the lab right now; try again when the indicator says live.", "error");
      });
    }
  }

  say(words, tone) {
    const out = $("scenario-message");
    out.setAttribute("data-tone", tone);
    text(out, words);
  }
}

const config = JSON.parse($("lab-config").textContent);
new OverloadPage(config).start();
