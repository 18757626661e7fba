// The message-queue page: wires the lab WebSocket to the queue picture, the charts, the
// scenarios, the producers, a learner's own jobs, and the side-by-side comparison with the LB.
import { clock } from "../js/lib/clock.js";
import { CounterHistory } from "../js/lib/chartdata.js";
import { text } from "../js/lib/dom.js";
import {
  TRACE_KINDS,
  controlRequest,
  nodeConfigRequest,
  queueAddRequest,
  queueControlRequest,
  queueEnqueueRequest,
  queueRemoveRequest,
  trafficRequest,
} from "../js/lib/protocol.js";
import { CompareCharts, CompareTally, QueueCharts, capacities, drainRate, queueMarker } from "./charts.js";
import { queueLogged } from "./events.js";
import { QueueView } from "./view.js";
import { renderSetBy } from "../js/lib/setby.js";
import { ReconnectingSocket } from "../js/lib/socket.js";
import { ConnectionIndicator, InvalidEventsCounter, Notices } from "../js/lib/status.js";
import { TraceLog } from "../js/lib/tracelog.js";

const SAMPLE_MS = 500;
const RATE_WINDOW_MS = 2000;
const CHART_TURN_MS = 250;
const DIST_EVERY_MS = 2000;
const BURST_MS = 10_000;

function webSocketUrl(path) {
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${window.location.host}${path}`;
}

const $ = (id) => document.getElementById(id);

class QueuePage {
  constructor(config) {
    this.config = config;
    this.serverOffsetMs = 0;
    this.ready = false;
    this.lastSampleTs = 0;
    this.lastDistTs = 0;
    this.state = null;
    this.totals = new CounterHistory(); // enqueued and acknowledged
    this.perConsumer = new CounterHistory(); // processed, by consumer
    this.backlogs = []; // [ts, backlog], the last few seconds
    this.consumerIds = new Set(); // every consumer the state has named: whose events the log lists
    this.replay = []; // the welcome's recent events, kept until the first state names the consumers
    this.connection = new ConnectionIndicator({ element: $("connection-status") });
    this.invalidEvents = new InvalidEventsCounter({ element: $("invalid-events") });
    this.notices = new Notices({ container: $("notices") });
    this.view = new QueueView({
      frame: $("q-frame"),
      producers: $("q-producers"),
      queue: $("q-queue"),
      consumerList: $("q-consumers"),
      deadList: $("q-dead-list"),
      instructor: config.instructor,
      onConsumerAction: (action, id) => this.consumerAction(action, id),
      onSkipped: (n) => text($("dots-skipped"), String(n)),
    });
    this.charts = new QueueCharts({
      elements: {
        backlog: $("chart-backlog"),
        rates: $("chart-rates"),
        consumers: $("chart-consumers"),
        latency: $("chart-latency"),
      },
    });
    this.compare = new CompareCharts({
      elements: { lb: $("chart-compare-lb"), queue: $("chart-compare-queue"), dist: $("chart-compare-dist") },
    });
    this.tally = new CompareTally();
    this.log = new TraceLog({ list: $("trace-log"), describeKind: (kind) => TRACE_KINDS[kind] || "" });
    this.wireControls();
    this.socket = new ReconnectingSocket({
      url: webSocketUrl(config.ws_path),
      onMessage: (frame) => this.handle(frame),
      onStatus: (status) => {
        this.connection.show(status);
        $("q-panel").classList.toggle("stale", status.state !== "live");
      },
      onProtocolError: (err) => this.notices.show(`A message from the server could not be read: ${err.message}`, "error"),
    });
  }

  start() {
    this.socket.start();
    setInterval(() => this.connection.render(), 500);
    setInterval(() => {
      this.charts.render(this.serverNow());
      this.compare.render(this.serverNow());
    }, CHART_TURN_MS);
  }

  serverNow() {
    return Date.now() + this.serverOffsetMs;
  }

  // --- controls --------------------------------------------------------------------

  wireControls() {
    $("send-jobs").addEventListener("click", () => this.send(queueEnqueueRequest(5), "Jobs sent…", "send-jobs-note"));
    $("consumer-add")?.addEventListener("click", () => this.send(queueAddRequest(), "Adding a consumer…"));
    $("send-poison")?.addEventListener("click", () => this.send(queueEnqueueRequest(1, "poison"), "Poison job sent…"));
    $("send-malformed")?.addEventListener("click", () => this.send(queueEnqueueRequest(1, "malformed"), "Malformed job sent…"));
    $("producer-apply")?.addEventListener("click", () => this.applyProducers());
    $("compare-start")?.addEventListener("click", () => this.setTraffic({ rate: 10, work_ms: 100, queue: "also" }, "compare-message"));
    $("compare-capacity")?.addEventListener("click", () => this.nodesCapacityOne());
    $("compare-burst")?.addEventListener("click", () => this.burst());
    for (const button of document.querySelectorAll("#scenario-panel button[data-action]")) {
      button.addEventListener("click", () => this.scenario(button.getAttribute("data-action")));
    }
  }

  scenario(action) {
    if (action === "add") this.send(queueAddRequest(), "Adding a consumer…", "scenario-message");
    else if (action === "producers-off") this.setTraffic({ rate: 0 }, "scenario-message");
    else this.send(queueControlRequest(action), `${action} sent…`, "scenario-message");
  }

  applyProducers() {
    const rate = Number($("producer-rate").value);
    const work = Number($("producer-work").value);
    this.setTraffic({ rate, work_ms: work, queue: $("producer-mode").value }, "producer-message");
  }

  /** traffic.set needs every field: the ones not given keep their current values. */
  setTraffic(changes, messageId) {
    const t = this.state?.traffic;
    if (!t) {
      this.say(messageId, "The traffic generator is not running.", "error");
      return false;
    }
    const settings = { rate: t.rate, work_ms: t.work_ms, variance_ms: t.variance_ms, ws_clients: t.ws_clients, queue: t.queue, ...changes };
    if (settings.queue === "also" && changes.queue === "also") this.tally.reset();
    return this.send(trafficRequest(settings), "Producers set…", messageId);
  }

  nodesCapacityOne() {
    for (const node of this.state?.nodes || []) this.send(nodeConfigRequest(node.id, { capacity: 1 }));
    this.say("compare-message", "Each node now works on one request at a time (queues 2 more, refuses the rest).");
  }

  burst() {
    const t = this.state?.traffic;
    if (!t || t.rate <= 0 || this.bursting) return;
    const base = t.rate;
    const high = Math.min(this.config.traffic_limits.rate[1], base * 3);
    if (!this.setTraffic({ rate: high }, "compare-message")) return;
    this.bursting = true;
    this.say("compare-message", `Burst: ${high}/s for ${BURST_MS / 1000} s, then back to ${base}/s.`);
    setTimeout(() => {
      this.bursting = false;
      this.setTraffic({ rate: base }, "compare-message");
    }, BURST_MS);
  }

  consumerAction(action, id) {
    if (action === "remove") this.send(queueRemoveRequest(id), `Removing ${id}…`);
    else this.send(controlRequest(action, id), `${action} ${id} sent…`);
  }

  send(message, pending = "", messageId = null) {
    if (!this.socket.send(message)) {
      this.notices.show("Not connected to the lab right now; try again when the indicator says live.", "error");
      return false;
    }
    if (messageId && pending) this.say(messageId, pending);
    this.lastMessageId = messageId;
    return true;
  }

  say(id, message, tone = "info") {
    const element = $(id);
    if (!element) return;
    element.textContent = message;
    element.setAttribute("data-tone", tone);
  }

  // --- frames ----------------------------------------------------------------------

  handle(frame) {
    const handler = {
      welcome: () => {
        this.replay = frame.recent || [];
      },
      state: () => {
        this.invalidEvents.show(frame.invalid_events);
        this.renderState(frame.state);
      },
      // before the first state the consumers are not known: logged with the replay then
      trace: () => (this.ready ? this.onEvents(frame.events || []) : this.replay.push(...(frame.events || []))),
      ack: () => this.onAck(frame),
      error: () => this.onError(frame),
    }[frame.type];
    if (handler) handler();
  }

  renderState(state) {
    this.state = state;
    this.serverOffsetMs = state.ts - Date.now();
    renderSetBy(document, state);
    const q = state.queue;
    for (const consumer of q?.consumers || []) this.consumerIds.add(consumer.id);
    if (this.replay.length > 0) {
      this.log.add(this.replay.filter((e) => queueLogged(e, this.consumerIds)));
      this.replay = [];
    }
    if (q && state.redis.up) {
      this.totals.record(state.ts, { in: q.enqueued_total, out: q.acked_total + q.dead_total + q.trimmed_total });
      this.perConsumer.record(state.ts, Object.fromEntries(q.consumers.map((c) => [c.id, c.processed_total])));
      this.backlogs.push([state.ts, q.backlog]);
      this.backlogs = this.backlogs.filter(([ts]) => ts >= state.ts - 10_000);
    }
    const rates = this.totals.ratesOver(RATE_WINDOW_MS);
    const drain = drainRate(this.backlogs);
    this.view.update(state, {
      inRate: Number.isFinite(rates.in) ? rates.in : null,
      drainRate: drain,
      growing: this.backlogs.length > 1 && this.backlogs[this.backlogs.length - 1][1] > this.backlogs[0][1],
    });
    this.tally.record(state);
    this.renderStatus(state);
    this.sample(state, rates);
    if (!this.ready) {
      this.ready = true;
      $("send-jobs").disabled = false;
      document.body.setAttribute("data-ready", "1");
    }
  }

  renderStatus(state) {
    const q = state.queue;
    $("redis-banner").hidden = state.redis.up;
    text($("last-update"), clock(state.ts));
    const up = q ? q.consumers.filter((c) => c.status === "up").length : 0;
    const words = q ? `${q.backlog} waiting · ${q.pending} in progress · ${up} of ${q.consumers.length} consumers up` : "Redis unreachable";
    text($("queue-status").querySelector(".text"), words);
    const cap = capacities(state);
    const perSecond = (n) => (n === null ? "—" : `${Math.round(n)} jobs/s`);
    text($("capacity-lb"), perSecond(cap.lb));
    text($("capacity-queue"), perSecond(cap.queue));
    text($("compare-numbers"), this.tally.sentence());
  }

  sample(state, rates) {
    if (state.ts - this.lastSampleTs < SAMPLE_MS * 0.9) return;
    this.lastSampleTs = state.ts;
    const q = state.queue;
    const live = state.redis.up && q;
    const t = state.traffic;
    this.charts.push(state.ts, {
      backlog: live ? q.backlog : null,
      pending: live ? q.pending : null,
      in: rates.in ?? null,
      out: rates.out ?? null,
      perConsumer: live ? this.perConsumer.ratesOver(RATE_WINDOW_MS) : {},
      latency: live ? q.latency_ms : {},
    });
    const comparing = t && t.queue === "also" && live;
    this.compare.push(state.ts, {
      lb: comparing ? { p95: t.sent > 0 ? t.latency_ms.p95 : null, refused: t.rejected / t.window_s } : {},
      queue: comparing ? { p95: q.latency_ms.p95, backlog: q.backlog } : {},
    });
    if (comparing && state.ts - this.lastDistTs >= DIST_EVERY_MS) {
      this.lastDistTs = state.ts;
      this.compare.drawDistributions(t.latency_sample || [], q.latency_sample || []);
    }
  }

  onEvents(events) {
    this.view.play(events);
    const notable = events.filter((e) => queueLogged(e, this.consumerIds));
    this.log.add(notable);
    for (const event of notable) {
      const marker = queueMarker(event);
      this.charts.mark(marker, this.serverNow());
      this.compare.mark(marker, this.serverNow());
    }
  }

  onAck(frame) {
    const words = {
      "queue.enqueue": "Enqueued: your tab did not wait for the work; watch the dots.",
      "queue.add": `${frame.node} added: it joins the consumer group as soon as it starts.`,
      "queue.remove": "Removed: the consumer stops gracefully; others claim anything it left pending.",
      traffic: "Producers set.",
    }[frame.action];
    const target = frame.action === "queue.enqueue" && !this.lastMessageId ? "send-jobs-note" : this.lastMessageId;
    this.say(target || "scenario-message", words || `${frame.action} accepted: watch the picture and the charts.`);
  }

  onError(frame) {
    this.say(this.lastMessageId || "scenario-message", `Refused: ${frame.reason}`, "error");
    this.notices.show(frame.reason, "error");
  }
}

const config = JSON.parse(document.getElementById("lab-config").textContent);
new QueuePage(config).start();
