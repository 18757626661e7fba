// The chat page: this tab's own chat client through the LB, the rooms with their nodes
// and ledger (polled from /api/chat/state), presence, message paths and the trace log
// (from the lab WebSocket), and the instructor's mode and bot controls.
import { ChatConnection, lbBaseUrl, overloadWords } from "./client.js";
import {
  COUNT_HINT,
  DROPS_HINT,
  MessageList,
  PathLog,
  countWords,
  dropsLine,
  memberCount,
  presenceWords,
  renderPresence,
  renderRooms,
} from "./views.js";
import { clock } from "../js/lib/clock.js";
import { el, text } from "../js/lib/dom.js";
import { plural } from "../js/lib/words.js";
import {
  TRACE_KINDS,
  chatBotsRequest,
  chatModeRequest,
  controlRequest,
  describeClose,
} from "../js/lib/protocol.js";
import { renderSetBy } from "../js/lib/setby.js";
import { ReconnectingSocket } from "../js/lib/socket.js";
import { ConnectionIndicator, InvalidEventsCounter, Notices } from "../js/lib/status.js";
import { TraceLog } from "../js/lib/tracelog.js";

const POLL_MS = 1000;
const CHAT_KINDS = /^(chat|presence|ws)\.|^pubsub\./;

const $ = (id) => document.getElementById(id);

class ChatPage {
  constructor(config) {
    this.config = config;
    this.view = null;
    this.client = null;
    this.stats = { reconnects: 0, recovered: 0 };
    this.notices = new Notices({ container: $("notices") });
    this.connection = new ConnectionIndicator({ element: $("connection-status") });
    this.invalidEvents = new InvalidEventsCounter({ element: $("invalid-events") });
    this.messages = new MessageList({ list: $("chat-messages") });
    this.paths = new PathLog({ list: $("chat-paths"), membersOf: (room) => this.membersOf(room) });
    this.log = new TraceLog({ list: $("trace-log"), describeKind: (k) => TRACE_KINDS[k] || "" });
    $("join-user").value = config.user || `you-${Math.random().toString(36).slice(2, 6)}`;
    $("join-form").addEventListener("submit", (e) => this.join(e));
    $("send-form").addEventListener("submit", (e) => this.send(e));
    for (const button of document.querySelectorAll(".mode-button")) {
      button.addEventListener("click", () => this.lab.send(chatModeRequest(button.dataset.mode)));
    }
    $("bots-form")?.addEventListener("submit", (e) => this.setBots(e));
  }

  start() {
    this.lab = new ReconnectingSocket({
      url: `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}${this.config.ws_path}`,
      onMessage: (frame) => this.onLabFrame(frame),
      onStatus: (status) => this.connection.show(status),
    }).start();
    this.poll();
    setInterval(() => this.poll(), POLL_MS);
  }

  async poll() {
    try {
      const response = await fetch("/api/chat/state", { cache: "no-store" });
      const view = await response.json();
      if (!response.ok) throw new Error(view.error || response.statusText);
      this.show(view);
      text($("chat-api-status"), "");
    } catch (err) {
      text($("chat-api-status"), `chat state unavailable: ${err.message}`);
    }
  }

  show(view) {
    this.view = view;
    const mode = $("chat-mode");
    text(mode, view.mode === "redis" ? "Redis pub/sub" : "local only");
    mode.dataset.mode = view.mode;
    for (const card of document.querySelectorAll(".chat-mode-card")) {
      const current = card.dataset.mode === view.mode;
      card.classList.toggle("active", current);
      card.querySelector(".chat-mode-now").hidden = !current;
      const button = card.querySelector(".mode-button"); // offered for the other mode only
      if (button) button.hidden = current;
    }
    renderRooms($("chat-rooms"), view.rooms, view.mode);
    renderPresence($("chat-presence"), view.presence, view.rooms);
    this.showBots(view.bots);
    this.showCount();
    if (!this.client && view.lb_port) this.connect($("join-room").value, $("join-user").value);
  }

  /** Who is in this tab's room, counted as the rooms table counts them (from the same poll). */
  showCount() {
    if (!this.joined || this.client?.node === null) return;
    const { room, user } = this.joined;
    const members = this.membersOf(room);
    const count = members.length ? ` · ${countWords(memberCount(members))} in the room` : "";
    text($("my-status"), `room ${room} as ${user}${count}`);
    $("my-status").title = COUNT_HINT;
  }

  membersOf(room) {
    return this.view?.rooms.find((r) => r.name === room)?.members || [];
  }

  showBots(bots) {
    if (!bots) {
      text($("bots-summary"), "the bots process is not running");
      $("bots-rooms").replaceChildren();
      return;
    }
    text($("bots-summary"), `${bots.total} bots, ${bots.sent} messages sent`);
    $("bots-rooms").replaceChildren(
      ...Object.entries(bots.rooms).map(([room, r]) => {
        const where = Object.entries(r.nodes).map(([n, c]) => `${n}: ${c}`).join(", ");
        return el("li", {}, el("strong", {}, room), ` ${r.connected}/${r.bots} connected — ${where || "none"}`);
      }),
    );
  }

  // --- this tab's own client -------------------------------------------------------

  join(event) {
    event.preventDefault();
    this.connect($("join-room").value.trim(), $("join-user").value.trim());
  }

  connect(room, user) {
    if (this.client) this.client.stop();
    this.messages.clear();
    this.stats = { reconnects: 0, recovered: 0 };
    $("standalone-link").href = `/chat/room/${encodeURIComponent(room)}/`;
    this.client = new ChatConnection({
      lbBase: lbBaseUrl(this.view.lb_port),
      room,
      user,
      onFrame: (frame) => this.onChatFrame(frame),
      onStatus: (status) => this.onChatStatus(status),
    }).start();
  }

  send(event) {
    event.preventDefault();
    const input = $("chat-text");
    if (!input.value.trim() || !this.client) return;
    if (this.client.send(input.value)) input.value = "";
    else this.notices.show("not connected: your message was not sent", "error");
  }

  onChatFrame(frame) {
    if (frame.type === "welcome") {
      if (frame.reconnectMs !== null) {
        this.stats.reconnects += 1;
        text($("my-reconnect-ms"), `${(frame.reconnectMs / 1000).toFixed(2)} s`);
        this.messages.note(`reconnected on ${frame.node} after ${(frame.reconnectMs / 1000).toFixed(2)} s`);
      }
      this.showWhere(`you are on ${frame.node}`, "live", frame.node);
      this.joined = { room: frame.room, user: frame.user };
      this.showCount();
    } else if (frame.type === "message") {
      this.messages.add(frame, { mine: frame.user === this.client.user });
      if (frame.recovered) this.stats.recovered += 1;
    } else if (frame.type === "presence") {
      const me = { user: this.client.user, node: this.client.node };
      for (const p of frame.events) {
        const { words, kind } = presenceWords(p, { me });
        this.messages.note(kind === "reconnected" ? `${p.user}: ${words}` : `${p.user} on ${p.node} ${words}`, `presence-${kind}`);
      }
    } else if (frame.type === "history_lost") {
      this.messages.note(`${frame.error} (#${frame.from}-#${frame.to}, ${frame.lost} lost)`, "error");
    } else if (frame.type === "mode") {
      this.messages.note(`broadcast mode is now ${frame.mode}`);
    } else if (frame.type === "overloaded" || frame.type === "shed") {
      this.messages.note(overloadWords(frame), "error");
    } else if (frame.type === "error") {
      this.notices.show(`chat: ${frame.error}`, "error");
    }
    text($("my-last"), this.client.book.last === null ? "—" : `#${this.client.book.last}`);
    text($("my-reconnects"), String(this.stats.reconnects));
    text($("my-recovered"), String(this.stats.recovered));
    text($("my-duplicates"), String(this.client.book.duplicates));
  }

  onChatStatus(status) {
    if (status.state === "reconnecting") {
      const why = status.code ? ` (closed: ${describeClose(status.code) || status.code})` : "";
      this.showWhere("reconnecting…", "reconnecting");
      text($("my-status"), `your node went away${why}; reconnecting through the LB`);
    } else if (status.state === "closed") {
      this.showWhere("disconnected", "closed");
      text($("my-status"), describeClose(status.code) || `closed (${status.code})`);
    }
  }

  showWhere(words, state, node = "") {
    text($("my-node"), words);
    $("my-node").dataset.state = state;
    $("my-node").dataset.node = node;
  }

  // --- the lab socket: trace events, instructor answers ------------------------------

  onLabFrame(frame) {
    if (frame.type === "trace") {
      const chat = frame.events.filter((e) => e.demo === "chat" || CHAT_KINDS.test(e.kind));
      for (const event of chat) this.paths.add(event);
      this.log.add(chat.filter((e) => e.demo === "chat"));
    } else if (frame.type === "ack") {
      this.notices.show(`done: ${frame.action}`, "info");
      this.poll();
    } else if (frame.type === "error") {
      this.notices.show(frame.reason, "error");
    } else if (frame.type === "state") {
      this.invalidEvents.show(frame.invalid_events);
      text($("last-update"), clock(frame.state.ts));
      renderSetBy(document, frame.state);
      this.showNodes(frame.state.nodes);
    }
  }

  showNodes(nodes) {
    $("chat-nodes").replaceChildren(
      ...nodes.map((node) => {
        const li = el(
          "li",
          { class: "chat-node-row", "data-node": node.id, "data-status": node.status },
          el("strong", {}, node.id),
          el("span", { class: "mono" }, node.status),
          el("span", { class: "mono" }, plural(node.websockets, "WebSocket", "WebSockets")),
        );
        const drops = dropsLine(node.drops);
        if (drops) li.append(el("span", { class: "mono chat-drops", title: DROPS_HINT, "data-field": "drops" }, drops));
        if (this.config.instructor && node.status === "up") {
          const kill = el("button", { type: "button", class: "danger" }, "Kill");
          kill.addEventListener("click", () => this.lab.send(controlRequest("kill", node.id)));
          li.append(kill);
        }
        return li;
      }),
    );
  }

  setBots(event) {
    event.preventDefault();
    this.lab.send(chatBotsRequest($("bots-room").value.trim(), Number($("bots-count").value)));
  }
}

const config = JSON.parse($("lab-config").textContent);
new ChatPage(config).start();
