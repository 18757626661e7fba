// The API gateway page: wires the lab WebSocket (state and trace events) to the picture, and
// the tab's own client of the gateway (token, auction socket, bids) to its panel.
import { clock } from "../js/lib/clock.js";
import { fieldsOf, text } from "../js/lib/dom.js";
import { TRACE_KINDS, gatewayCompareRequest } from "../js/lib/protocol.js";
import { ReconnectingSocket } from "../js/lib/socket.js";
import { renderSetBy } from "../js/lib/setby.js";
import { plural } from "../js/lib/words.js";
import { ConnectionIndicator, InvalidEventsCounter, Notices } from "../js/lib/status.js";
import { TraceLog } from "../js/lib/tracelog.js";
import { AuctionPanel, GatewayClient } from "./auction.js";
import { GatewayPicture } from "./picture.js";
import { ComparePanel, Scenarios } from "./scenarios.js";

// The log lists what is notable; every request's ordinary stages are drawn, not listed.
const LOGGED = (e) =>
  e.kind === "gateway.deny" || e.kind === "gateway.retry" || e.kind.startsWith("auth.") ||
  ["gateway.subscribe", "gateway.unsubscribe", "fault.inject", "node.down", "node.up"].includes(e.kind) ||
  (e.kind === "gateway.unwatch" && !e.ok);

const $ = (id) => document.getElementById(id);

function webSocketUrl(path) {
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${window.location.host}${path}`;
}

class GatewayPage {
  constructor(config) {
    this.config = config;
    this.state = null;
    this.sent = 0;
    this.connection = new ConnectionIndicator({ element: $("connection-status") });
    this.invalidEvents = new InvalidEventsCounter({ element: $("invalid-events") });
    this.notices = new Notices({ container: $("notices") });
    this.tab = fieldsOf($("gw-tab"));
    this.client = new GatewayClient({ base: () => this.gatewayBase(), onSent: () => text(this.tab.sent, String(++this.sent)) });
    this.picture = new GatewayPicture({
      lb: $("gw-lb"),
      replicas: $("gw-replicas"),
      services: $("gw-services"),
      isMine: (trace) => this.client.mine.has(trace),
    });
    this.auction = new AuctionPanel({
      client: this.client,
      notices: this.notices,
      elements: {
        select: $("auction-select"), live: $("auction-live"), history: $("auction-history"),
        amount: $("bid-amount"), bid: $("bid"), result: $("bid-result"),
        tokenBox: $("token-box"), signout: $("signout"),
      },
    });
    this.compare = new ComparePanel({
      panel: $("compare-panel"), table: $("compare-table"), conclusion: $("compare-conclusion"),
      note: $("compare-note"), button: $("compare-run"),
    });
    this.scenarios = new Scenarios({
      panel: $("scenario-panel"), instructor: config.instructor, user: config.user,
      send: (request) => this.socket.send(request), client: this.client, auction: this.auction,
      message: $("scenario-message"),
      onBypass: () => this.compare.running(true),
    });
    this.log = new TraceLog({ list: $("trace-log"), describeKind: (kind) => TRACE_KINDS[kind] || "" });
    this.wireControls();
    this.socket = new ReconnectingSocket({
      url: webSocketUrl(config.ws_path),
      onMessage: (frame) => this.handle(frame),
      onStatus: (status) => {
        this.connection.show(status);
        $("gw-panel").classList.toggle("stale", status.state !== "live");
      },
      onProtocolError: (err) => this.notices.show(`A message from the server could not be read: ${err.message}`, "error"),
    });
  }

  start() {
    this.socket.start();
    setInterval(() => {
      this.connection.render();
      this.auction.tick();
    }, 500);
  }

  /** The gateway's URL as this tab reaches it: the balancer's gateway listener, same host. */
  gatewayBase() {
    const port = this.state?.gateway?.entry_port;
    return port ? `${window.location.protocol}//${window.location.hostname}:${port}` : null;
  }

  wireControls() {
    const role = $("signin-role");
    const label = () => text($("signin"), { bidder: "Sign in as a bidder", viewer: "Sign in as a viewer", instructor: "Sign in as an instructor" }[role.value]);
    role.addEventListener("change", label);
    $("signin-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const name = $("signin-name").value.trim() || "learner";
      $("signin").disabled = true;
      try {
        if (await this.auction.signIn(name, role.value, Number($("signin-ttl").value))) {
          text(this.tab.who, `${name} (${role.value})`);
        }
      } finally {
        $("signin").disabled = false;
      $("compare-run").disabled = false;
      }
    });
    $("signout").addEventListener("click", () => {
      this.auction.signOut();
      text(this.tab.who, "not signed in");
    });
    $("auction-select").addEventListener("change", (event) => this.auction.choose(event.target.value));
    $("compare-run").addEventListener("click", () => {
      if (this.socket.send(gatewayCompareRequest(false))) this.compare.running();
      else this.compare.failed("not connected to the lab right now");
    });
    $("bid-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.auction.bid($("bid-amount").value);
    });
  }

  handle(frame) {
    const handler = {
      welcome: () => this.log.add((frame.recent || []).filter(LOGGED)),
      state: () => {
        this.invalidEvents.show(frame.invalid_events);
        this.renderState(frame.state);
      },
      trace: () => this.onEvents(frame.events || []),
      ack: () => this.scenarios.accepted(frame),
      error: () => this.onError(frame),
      gateway_compare: () => this.compare.show(frame.result, this.compare.forClass),
    }[frame.type];
    if (handler) handler();
  }

  renderState(state) {
    this.state = state;
    $("redis-banner").hidden = state.redis.up;
    text($("last-update"), clock(state.ts));
    renderSetBy(document, state);
    const g = state.gateway;
    if (!g) {
      text($("gw-status").querySelector(".text"), "Redis unreachable");
      return;
    }
    this.picture.update(g);
    this.auction.setAuctions(g.auctions);
    this.compare.update(g);
    this.scenarios.update(g);
    const up = g.replicas.filter((r) => r.status === "up").length;
    const sockets = g.replicas.reduce((n, r) => n + r.websockets, 0);
    const entry = g.entry_port ? `through :${g.entry_port}` : "no gateway listener yet";
    text($("gw-status").querySelector(".text"), `${up} of ${g.replicas.length} replicas up · ${plural(sockets, "WebSocket", "WebSockets")} · ${entry}`);
    if (!document.body.hasAttribute("data-ready") && g.entry_port) {
      $("signin").disabled = false;
      $("compare-run").disabled = false;
      document.body.setAttribute("data-ready", "1");
    }
  }

  onError(frame) {
    if (frame.request === "gateway.compare") this.compare.failed(frame.reason);
    else if (frame.request?.startsWith("gateway.")) this.scenarios.say(`Refused: ${frame.reason}`, "error");
    else this.notices.show(frame.reason, "error");
  }

  onEvents(events) {
    this.picture.play(events.filter((e) => e.kind.startsWith("gateway.")));
    this.log.add(events.filter(LOGGED));
  }
}

const config = JSON.parse(document.getElementById("lab-config").textContent);
new GatewayPage(config).start();
