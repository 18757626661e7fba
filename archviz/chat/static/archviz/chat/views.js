// The chat page's pieces on screen: message list, rooms with their nodes and ledger,
// presence log, and each traced message's path. Data always goes in as text.
import { clock } from "../js/lib/clock.js";
import { el, text } from "../js/lib/dom.js";
import { plural } from "../js/lib/words.js";

export const LEDGER_COLUMNS = Object.freeze([
  ["sent", "messages stored with a sequence number"],
  ["delivered", "frames forwarded live to clients, on every node"],
  ["recovered", "replayed from the room's history after a reconnect or a gap"],
  ["lost", "missed messages the capped history no longer held (the client was told)"],
  ["duplicates", "copies a connection already had, suppressed"],
  ["missed_local", "local mode: room members on other nodes that did not get a message"],
  ["too_slow", "clients closed with 4008: too many unacknowledged frames"],
  ["flooded", "clients closed with 4029: over 20 messages per second"],
  ["refused", "frames refused with an error (bad JSON, unknown type, over 4 KiB, flood)"],
  ["untraced", "messages not drawn in the trace (sampling above 10/s per node)"],
]);

/** A node's silent drops (its heartbeat's extra.drops, archviz/core/drops.py), in words;
 * "" while there are none. */
export function dropsLine(drops = {}) {
  const parts = [];
  if (drops.group_full_total > 0) {
    parts.push(`${plural(drops.group_full_total, "group send", "group sends")} skipped: channel full`);
  }
  if (drops.expired_total > 0) {
    parts.push(`${plural(drops.expired_total, "message", "messages")} expired unread`);
  }
  if (drops.pubsub_lost_total > 0) {
    parts.push(`${plural(drops.pubsub_lost_total, "pub/sub connection", "pub/sub connections")} lost`);
  }
  return parts.join(", ");
}

export const DROPS_HINT =
  "Dropped by the stack without an error: local-mode sends skipped because a client's channel held " +
  "5,000 messages, local-mode messages left unread for 60 s (thrown away, and their client taken " +
  "out of its room), and Redis connections this node's layer lost and re-made (Redis closes a " +
  "subscriber too slow to read; what was in its buffer is gone).";

export class MessageList {
  constructor({ list, maxRows = 200 }) {
    this.list = list;
    this.maxRows = maxRows;
  }

  add(message, { mine = false } = {}) {
    const li = el(
      "li",
      { class: "chat-msg", "data-seq": message.seq },
      el("span", { class: "chat-seq mono" }, `#${message.seq}`),
      el("span", { class: "chat-who" }, message.user),
      el("span", { class: "chat-node mono" }, `via ${message.node}`),
      el("span", { class: "chat-text" }, message.text),
    );
    li.classList.toggle("mine", mine);
    li.classList.toggle("history", Boolean(message.history));
    if (message.recovered) li.append(el("span", { class: "chat-tag" }, "recovered"));
    this.insert(li, message.seq);
    while (this.list.children.length > this.maxRows) this.list.firstElementChild.remove();
    this.list.scrollTop = this.list.scrollHeight;
  }

  note(words, kind = "info") {
    this.list.append(el("li", { class: `chat-note ${kind}` }, words));
    this.list.scrollTop = this.list.scrollHeight;
  }

  insert(li, seq) {
    const later = [...this.list.querySelectorAll(".chat-msg")].find((row) => Number(row.dataset.seq) > seq);
    this.list.insertBefore(li, later || null);
  }

  clear() {
    this.list.replaceChildren();
  }
}

/** A room's members counted one way everywhere (pure): its connections in Redis (a
 * connection is removed when it closes, or 3 s after its last heartbeat), and the people
 * they belong to (one user may hold several: tabs, or an old connection not yet expired). */
export function memberCount(members = []) {
  return { connections: members.length, people: new Set(members.map((m) => m.user)).size };
}

export const countWords = ({ connections, people }) =>
  `${plural(connections, "connection", "connections")} (${plural(people, "person", "people")})`;

export const COUNT_HINT =
  "Connections in the room's member list in Redis: a connection leaves it when it closes, or 3 s after its last heartbeat.";

/** Rooms: members by node (the nodes subscribed to the room's Redis channel), ledger. */
export function renderRooms(tbody, rooms, mode) {
  tbody.replaceChildren(
    ...rooms.map((room) => {
      const nodes = Object.entries(room.nodes).map(([node, users]) =>
        el("span", { class: "chat-node-chip", title: users.join(", ") }, `${node}: ${plural(users.length, "connection", "connections")}`),
      );
      const subs = mode === "redis" ? `${room.redis_subscribers} subscribed in Redis` : "Redis not used for broadcast";
      return el(
        "tr",
        { "data-room": room.name },
        el("th", { scope: "row" }, room.name),
        el("td", { class: "mono" }, String(room.seq)),
        el(
          "td",
          {},
          el("div", { "data-field": "count", title: COUNT_HINT }, countWords(memberCount(room.members))),
          ...(nodes.length ? nodes : ["nobody"]),
          el("div", { class: "hint" }, subs),
        ),
        ...LEDGER_COLUMNS.map(([name]) =>
          el("td", { class: `mono ledger-${name}`, "data-field": name }, String(room.ledger[name] ?? 0)),
        ),
      );
    }),
  );
}

/** A presence event in words, and its kind for styling (pure). An offline whose user is
 * connected again (the event's back_on, or `back`: where the room has them now; `me`: this
 * tab's own user and node) is one connection timing out, not the user gone: "reconnected". */
export function presenceWords(p, { back = [], me = null } = {}) {
  if (p.event !== "offline") return { words: p.event === "join" ? "joined" : "left", kind: p.event };
  const why = `no heartbeat for ${(p.detect_ms / 1000).toFixed(1)} s, detected by ${p.detected_by}`;
  if (me && p.user === me.user && me.node) {
    return { words: `your earlier connection on ${p.node} timed out (${why}); you are connected on ${me.node}`, kind: "reconnected" };
  }
  const on = [...new Set([...(p.back_on || []), ...back])].sort();
  if (on.length) return { words: `connection on ${p.node} timed out (${why}); connected again on ${on.join(", ")}`, kind: "reconnected" };
  return { words: `went offline (${why})`, kind: "offline" };
}

/** Presence events, newest first; an offline user seen again says where. */
export function renderPresence(list, events, rooms = []) {
  const online = new Map(); // "room user" -> nodes where that user is connected now
  for (const room of rooms) {
    for (const m of room.members) online.set(`${room.name} ${m.user}`, [...(online.get(`${room.name} ${m.user}`) || []), m.node]);
  }
  list.replaceChildren(
    ...events.map((p) => {
      const { words, kind } = presenceWords(p, { back: online.get(`${p.room} ${p.user}`) || [] });
      return el(
        "li",
        { class: `presence-${kind}` },
        el("span", { class: "mono" }, clock(p.ts)),
        el("strong", {}, p.user),
        el("span", { class: "mono" }, `${p.room} @ ${p.node}`),
        el("span", {}, words),
      );
    }),
  );
}

/** How long after a Redis-mode message is sent a subscribed node's delivery may still come
 * (a delivery waits up to 0.5 s for a gap to be settled, then 50 ms of batching and the
 * trace's own 50 ms): until then a node without one is "waiting", not "did not get it". */
export const SETTLE_MS = 3000;

const clients = (n) => `${n} client${n === 1 ? "" : "s"}`;

/** What a message's path row says (pure): the hops, who got it, who did not and who may
 * still. Only members connected when it was sent count: one who joined later was shown it
 * from the history, and was never missed. members: [{user, node, since}] of the room now. */
export function pathVerdict({ send, published = false, deliveries = new Map() }, members, now) {
  const d = send.detail;
  const hops = [`${d.user}'s client`, "LB", send.dst, ...(published ? ["Redis"] : [])];
  const reached = [...deliveries.values()].map((e) => {
    const fromHistory = e.detail.recovered ? `, ${e.detail.recovered} from the history` : "";
    return `${e.src} → ${clients(e.detail.clients)} (${e.ms?.toFixed(1)} ms${fromHistory})`;
  });
  const expected = new Map(); // node -> users connected there when the message was sent
  for (const m of members) {
    if (m.since <= send.ts && !deliveries.has(m.node)) expected.set(m.node, [...(expected.get(m.node) || []), m.user]);
  }
  const missed = [];
  const waiting = [];
  for (const [node, users] of [...expected].sort(([a], [b]) => a.localeCompare(b))) {
    const who = `${[...new Set(users)].sort().join(", ")} on ${node}`;
    // local mode: another node never gets it; otherwise a delivery may be on its way
    const never = d.mode === "local" && node !== send.dst;
    (never || now - send.ts >= SETTLE_MS ? missed : waiting).push(who);
  }
  return { hops, reached, missed, waiting };
}

/** Groups chat trace events by message and shows each message's path through the lab. */
export class PathLog {
  constructor({ list, maxRows = 30, membersOf = () => [], now = () => Date.now() }) {
    this.list = list;
    this.maxRows = maxRows;
    this.membersOf = membersOf; // room -> [{user, node, since}] connected now
    this.now = now;
    this.paths = new Map();
  }

  add(event) {
    if (!["chat.send", "pubsub.publish", "pubsub.deliver", "chat.deliver"].includes(event.kind)) return;
    if (event.demo !== "chat") return;
    let path = this.paths.get(event.trace);
    if (!path) {
      path = { send: null, published: false, deliveries: new Map(), row: null };
      this.paths.set(event.trace, path);
    }
    if (event.kind === "chat.send") {
      path.send = event;
      // once more when the wait is over: a node still without a delivery then did not get it
      setTimeout(() => this.paths.get(event.trace) === path && this.render(event.trace, path), SETTLE_MS);
    }
    if (event.kind === "pubsub.publish") path.published = true;
    if (event.kind === "chat.deliver") path.deliveries.set(event.src, event);
    this.render(event.trace, path);
  }

  render(trace, path) {
    if (!path.send) return;
    const d = path.send.detail;
    const { hops, reached, missed, waiting } = pathVerdict(path, this.membersOf(d.room), this.now());
    const row =
      path.row ||
      el("li", { class: "path-row", "data-trace": trace, "data-mode": d.mode }, el("span"), el("span"), el("span"));
    text(row.children[0], `#${d.seq} ${d.room} · ${d.mode}`);
    text(row.children[1], `${hops.join(" → ")} → ${reached.join(", ") || "…"}`);
    const words = [];
    if (missed.length) words.push(`did not get it: ${missed.join("; ")}`);
    if (waiting.length) words.push(`waiting for ${waiting.join("; ")}`);
    text(row.children[2], words.join(" · "));
    row.classList.toggle("missed", missed.length > 0);
    if (!path.row) {
      path.row = row;
      this.list.prepend(row);
      while (this.list.children.length > this.maxRows) {
        this.paths.delete(this.list.lastElementChild.dataset.trace);
        this.list.lastElementChild.remove();
      }
    }
  }
}
