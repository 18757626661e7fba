// The sessions page: the mode (and its switch, for instructors), this tab's cart through the
// LB, the picture of where the session lives, and the nodes' session trace events.
import { algorithmLabel } from "../js/lib/algorithms.js";
import { clock } from "../js/lib/clock.js";
import { el, text } from "../js/lib/dom.js";
import { TRACE_KINDS, controlRequest, sessionModeRequest } from "../js/lib/protocol.js";
import { CartClient, cartOutcome, describeRequest, newTraceId } from "./cart.js";
import { NodeIncidents } from "./incidents.js";
import { SessionPicture } from "./view.js";
import { renderSetBy } from "../js/lib/setby.js";
import { ReconnectingSocket } from "../js/lib/socket.js";
import { ConnectionIndicator, InvalidEventsCounter, Notices } from "../js/lib/status.js";
import { TraceLog } from "../js/lib/tracelog.js";

const MAX_REQUEST_ROWS = 30;
const $ = (id) => document.getElementById(id);

function webSocketUrl(path) {
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${window.location.host}${path}`;
}

/** Whether a trace event belongs on this page: the nodes' session work and mode switches. */
function isSessionEvent(event) {
  if (event.kind === "session.read" || event.kind === "session.write") return true;
  return event.kind === "fault.inject" && event.detail?.action === "session.mode";
}

class SessionsPage {
  constructor(config) {
    this.config = config;
    this.mode = config.mode;
    this.algorithm = null;
    this.expected = 0; // items this learner believes the cart holds
    this.loaded = false;
    this.busy = false;
    this.mine = new Set(); // trace ids of this tab's requests
    this.requestCount = 0;
    this.cart = new CartClient();
    this.connection = new ConnectionIndicator({ element: $("connection-status") });
    this.invalidEvents = new InvalidEventsCounter({ element: $("invalid-events") });
    this.notices = new Notices({ container: $("notices") });
    this.incidents = new NodeIncidents();
    this.picture = new SessionPicture({
      frame: $("session-frame"),
      svg: $("session-wires"),
      tab: $("box-tab"),
      lb: $("box-lb"),
      nodeList: $("session-nodes"),
      redis: $("box-redis"),
      tabSession: $("tab-session"),
      redisHolds: $("redis-holds"),
      onKill: config.instructor ? (node) => this.socket.send(controlRequest("kill", node)) : null,
    });
    this.log = new TraceLog({
      list: $("trace-log"),
      isMine: (event) => this.mine.has(event.trace),
      describeKind: (kind) => TRACE_KINDS[kind] || "",
    });
    this.socket = new ReconnectingSocket({
      url: webSocketUrl(config.ws_path),
      onMessage: (frame) => this.handle(frame),
      onStatus: (status) => this.connection.show(status),
      onProtocolError: (err) => this.notices.show(`A message from the server could not be read: ${err.message}`, "error"),
    });
    this.bindControls();
    this.showMode(this.mode);
  }

  start() {
    this.socket.start();
    setInterval(() => this.connection.render(), 500);
  }

  bindControls() {
    for (const button of document.querySelectorAll("[data-item]")) {
      button.addEventListener("click", () => this.run((trace) => this.cart.add(button.dataset.item, trace), "add", button.dataset.item));
    }
    $("custom-item-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const item = $("custom-item").value;
      this.run((trace) => this.cart.add(item, trace), "add", item);
    });
    $("cart-view").addEventListener("click", () => this.run((trace) => this.cart.view(trace), "view"));
    $("cart-clear").addEventListener("click", () => this.run((trace) => this.cart.clear(trace), "clear"));
    for (const button of document.querySelectorAll("[data-mode-switch]")) {
      button.addEventListener("click", () => this.switchMode(button.dataset.modeSwitch));
    }
  }

  // --- the lab socket ----------------------------------------------------------------

  handle(frame) {
    const handler = {
      welcome: () => this.onEvents(frame.recent || []),
      state: () => {
        this.invalidEvents.show(frame.invalid_events);
        this.onState(frame.state);
        renderSetBy(document, frame.state);
      },
      trace: () => this.onEvents(frame.events || [], true),
      ack: () => this.onAck(frame),
      error: () => this.onError(frame),
    }[frame.type];
    if (handler) handler();
  }

  onState(state) {
    text($("last-update"), clock(state.ts));
    this.picture.updateNodes(state.nodes || []);
    this.cart.port = state.lb && state.lb.port ? state.lb.port : null;
    this.algorithm = state.lb ? state.lb.algorithm : null;
    this.showAlgorithm();
    this.enable(!this.busy);
    if (!this.loaded && this.cart.ready) {
      this.loaded = true;
      this.run((trace) => this.cart.view(trace), "view"); // sets the sticky cookie before any write
    }
    document.body.setAttribute("data-ready", "1");
  }

  onEvents(events, live = false) {
    this.showIncidents(events);
    const relevant = events.filter(isSessionEvent);
    this.log.add(relevant);
    if (!live) return;
    for (const event of relevant) {
      if (event.kind === "fault.inject") this.showMode(event.detail.mode);
      else this.picture.sessionEvent(event, this.mine.has(event.trace));
    }
  }

  /** Kills and restarts stay on the page as lines (from the replay too, after a reload). */
  showIncidents(events) {
    let changed = false;
    for (const event of events) changed = this.incidents.add(event) || changed;
    if (!changed) return;
    const rows = this.incidents.lines().map((line) => el("li", { "data-node": line.node, "data-state": line.state }, line.text));
    $("node-events").replaceChildren(...rows);
  }

  onAck(frame) {
    if (frame.action === "session.mode") text($("mode-message"), "Switched: every node now keeps sessions this way.");
    else if (frame.action === "kill") this.notices.show(`${frame.node} killed (SIGKILL): its memory is gone (see "What happened to the nodes").`);
  }

  onError(frame) {
    if (frame.request === "session.mode") text($("mode-message"), frame.reason);
    else this.notices.show(frame.reason, "error");
  }

  switchMode(mode) {
    text($("mode-message"), `Switching to ${this.config.modes[mode]?.label ?? mode}…`);
    if (!this.socket.send(sessionModeRequest(mode))) text($("mode-message"), "Not connected to the lab: try again in a moment.");
  }

  // --- mode and algorithm ------------------------------------------------------------

  showMode(mode) {
    if (!this.config.modes[mode]) return;
    this.mode = mode;
    const current = $("current-mode");
    current.setAttribute("data-mode", mode);
    text(current, this.config.modes[mode].label);
    for (const card of document.querySelectorAll(".mode-card")) {
      card.setAttribute("data-current", card.dataset.mode === mode ? "true" : "false");
    }
    this.showAlgorithm();
  }

  showAlgorithm() {
    const label = this.algorithm ? algorithmLabel(this.algorithm) : "not running";
    const shown = $("lb-algorithm");
    shown.setAttribute("data-algorithm", this.algorithm || "");
    text(shown, label);
    text($("lb-box-algorithm"), label);
    const wanted = this.config.modes[this.mode]?.algorithm;
    const warning = $("algorithm-warning");
    const mismatch = Boolean(this.algorithm && wanted && this.algorithm !== wanted);
    warning.hidden = !mismatch;
    if (mismatch) text(warning, `This mode's lesson expects ${algorithmLabel(wanted)}: someone changed the balancer on the Load balancer page.`);
    // the mode in use is not offered again, unless switching to it again mends the balancer
    for (const button of document.querySelectorAll("[data-mode-switch]")) {
      button.disabled = button.dataset.modeSwitch === this.mode && !mismatch;
    }
  }

  // --- this tab's requests -----------------------------------------------------------

  enable(on) {
    for (const b of document.querySelectorAll(".shop-item, #custom-add, #cart-view, #cart-clear")) b.disabled = !on || !this.cart.ready;
    if (!this.cart.ready) text($("cart-outcome"), "The load balancer is not running, so there is no shop to talk to yet.");
  }

  async run(send, action, item = "") {
    if (this.busy || !this.cart.ready) return;
    this.busy = true;
    this.enable(false);
    const asked = this.picture.holdings.current;
    const trace = newTraceId();
    this.mine.add(trace); // before sending: the nodes' events may arrive before the answer
    if (this.mine.size > 500) this.mine.delete(this.mine.values().next().value);
    const result = await send(trace);
    this.log.markTrace(trace);
    this.busy = false;
    this.enable(true);
    const answer = result.answer;
    this.picture.request(answer.node || null, result.ok);
    this.addRequestRow(action, item, result);
    if (!result.ok) {
      this.showOutcome("error", result.status ? `Refused (${result.status}): ${result.error}` : result.error);
      return;
    }
    if (answer.mode) this.showMode(answer.mode);
    this.picture.learn(answer, asked);
    this.judge(action, answer);
  }

  judge(action, answer) {
    if (action === "clear") this.expected = 0;
    const { outcome, want, text: sentence } = cartOutcome(this.expected, answer, action === "add");
    this.showOutcome(outcome, sentence);
    // A lost cart is what the learner has now; a cart with more than they added (the page
    // was reloaded) is theirs too.
    this.expected = outcome === "lost" ? answer.items : Math.max(want, answer.items);
    this.showItems(answer.cart || {});
  }

  showOutcome(outcome, sentence) {
    const line = $("cart-outcome");
    line.setAttribute("data-outcome", outcome);
    text(line, sentence);
  }

  showItems(cart) {
    const rows = Object.entries(cart).map(([name, count]) => el("li", { "data-item": name }, el("span", { class: "mono" }, `${count} ×`), ` ${name}`));
    $("cart-items").replaceChildren(...rows);
  }

  addRequestRow(action, item, result) {
    this.requestCount += 1;
    const answer = result.answer;
    const what = { add: `POST /cart/items ${item}`, view: "GET /cart/", clear: "POST /cart/clear" }[action];
    const detail = result.ok ? describeRequest(answer) : result.error;
    const row = el(
      "li",
      { "data-node": answer.node || "", "data-ok": result.ok ? "true" : "false", "data-found": String(Boolean(answer.found)) },
      el("span", { class: "req-what mono" }, `#${this.requestCount} ${what}`),
      el("span", { class: "req-node" }, answer.node ? `→ ${answer.node}` : "→ no node"),
      el("span", { class: "req-detail" }, detail),
    );
    const list = $("cart-requests");
    list.prepend(row);
    while (list.children.length > MAX_REQUEST_ROWS) list.lastElementChild.remove();
  }
}

const config = JSON.parse($("lab-config").textContent);
new SessionsPage(config).start();
