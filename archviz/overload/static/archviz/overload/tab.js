// The learner's own tab as one of the clients: a WebSocket through the load balancer to a
// node's /ws/hold/, which says which node it is on, sees itself refused (4013) or shed (4014)
// with the node's retry hint, and reconnects by the lab's reconnect policy (reconnect.js).
// The socket, the timers, the clock and the random source are injected (tests use fakes).
import { MAX_HINT_MS, reconnectDelayMs } from "./reconnect.js";

// What a node sends a held socket (archviz/overload/messages.py).
export const HOLD_FRAME_TYPES = Object.freeze(["hello", "echo", "error", "overloaded", "shed"]);
export const OVERLOADED = 4013;
export const SHED = 4014;
const MAX_EVENTS = 12;

/** ws(s)://<page's host>:<the LB's port><path>, with the page's signed ticket when it has one. */
export function holdUrl(location, lbPort, path, ticket) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const query = ticket ? `?ticket=${encodeURIComponent(ticket)}` : "";
  return `${scheme}//${location.hostname}:${lbPort}${path}${query}`;
}

/** A frame from the node, or null when it is not one of HOLD_FRAME_TYPES. */
export function parseHoldFrame(text) {
  try {
    const frame = JSON.parse(text);
    return frame && typeof frame === "object" && HOLD_FRAME_TYPES.includes(frame.type) ? frame : null;
  } catch {
    return null;
  }
}

/** What a close meant, with the node's last overload frame (if any) before it. */
export function closeEvent(code, frame, node) {
  const kind = code === OVERLOADED ? "refused" : code === SHED ? "shed" : "closed";
  const hinted = frame && (frame.type === "overloaded" || frame.type === "shed") ? frame : null;
  return {
    kind,
    code,
    node: hinted?.node || node || null,
    retryAfterMs: Number.isFinite(hinted?.retry_after_ms) ? hinted.retry_after_ms : null,
    pressure: Number.isFinite(hinted?.pressure) ? hinted.pressure : null,
  };
}

/** The node's hint a reconnect honours: only a refusal's or a shed's, at most MAX_HINT_MS (as
 * the bots do, archviz/overload/reconnect.py's next_reconnect). */
export function hintOf(event) {
  if (event.kind === "closed" || event.retryAfterMs === null || event.retryAfterMs < 0) return 0;
  return Math.min(event.retryAfterMs, MAX_HINT_MS);
}

const seconds = (ms) => `${(ms / 1000).toFixed(ms < 1000 ? 2 : 1)} s`;

/** One line of the tab's own history, in words. */
export function tabEventText(event) {
  if (event.kind === "connected") return `connected to ${event.node}`;
  if (event.kind === "reconnected") {
    const after = Number.isFinite(event.afterMs) ? ` after ${seconds(event.afterMs)}` : "";
    return `reconnected to ${event.node}${after} (it had been ${event.from.kind} by ${event.from.node || "a node"})`;
  }
  const hint = [
    event.pressure !== null && event.pressure !== undefined ? `pressure ${Math.round(event.pressure * 100)} %` : null,
    event.retryAfterMs !== null && event.retryAfterMs !== undefined ? `retry after ${event.retryAfterMs} ms` : null,
  ].filter(Boolean);
  const why = hint.length ? `: ${hint.join(", ")}` : "";
  const head = {
    refused: `refused by ${event.node || "a node"} (${event.code}${why})`,
    shed: `shed by ${event.node || "a node"} (${event.code}${why})`,
    closed: `closed (code ${event.code})`,
  }[event.kind];
  const wait = Number.isFinite(event.delayMs)
    ? `; reconnecting in ${seconds(event.delayMs)} (${event.policy}, attempt ${event.attempt + 1})`
    : "";
  return `${head}${wait}`;
}

const DEFAULTS = {
  url: null,
  WebSocketImpl: globalThis.WebSocket,
  rng: Math.random,
  now: () => Date.now(),
  setTimer: (fn, ms) => setTimeout(fn, ms),
  clearTimer: (id) => clearTimeout(id),
  policy: () => ({ policy: "full_jitter", backoff: undefined }),
  onChange: () => {},
};

export class HoldClient {
  constructor(options) {
    this.options = { ...DEFAULTS, ...options };
    this.ws = null;
    this.timer = null;
    this.attempt = 0;
    this.lastFrame = null;
    this.lastClose = null; // the refusal or shed the next hello reconnects from
    this.status = "idle"; // idle | connecting | connected | waiting | stopped
    this.node = null;
    this.retryAt = null;
    this.events = []; // newest first
  }

  start() {
    this.stopped = false;
    this.connect();
    return this;
  }

  stop() {
    this.stopped = true;
    this.options.clearTimer(this.timer);
    if (this.ws) this.ws.close(1000);
    this.ws = null;
    this.status = "stopped";
    this.node = null;
    this.changed();
  }

  connect() {
    const { WebSocketImpl, url } = this.options;
    this.status = "connecting";
    this.lastFrame = null;
    const ws = new WebSocketImpl(url);
    this.ws = ws;
    ws.onmessage = (message) => ws === this.ws && this.onFrame(parseHoldFrame(message.data));
    ws.onclose = (event) => ws === this.ws && this.onClose(event.code);
    this.changed();
  }

  onFrame(frame) {
    if (!frame) return;
    this.lastFrame = frame;
    if (frame.type !== "hello") return;
    this.status = "connected";
    this.node = frame.node;
    const from = this.lastClose;
    const event = from
      ? { kind: "reconnected", node: frame.node, from, afterMs: this.options.now() - from.ts }
      : { kind: "connected", node: frame.node };
    this.attempt = 0;
    this.lastClose = null;
    this.record(event);
  }

  onClose(code) {
    this.ws = null;
    if (this.stopped) return;
    const { policy, backoff } = this.options.policy();
    const closed = closeEvent(code, this.lastFrame, this.node);
    const delayMs = reconnectDelayMs(policy, this.attempt, this.options.rng, backoff, hintOf(closed));
    const event = { ...closed, delayMs, policy, attempt: this.attempt };
    this.lastClose = { kind: event.kind, node: event.node, ts: this.options.now() };
    this.attempt += 1;
    this.status = "waiting";
    this.node = null;
    this.retryAt = this.options.now() + delayMs;
    this.record(event);
    this.timer = this.options.setTimer(() => this.connect(), delayMs);
  }

  record(event) {
    this.events.unshift({ ts: this.options.now(), ...event });
    this.events.length = Math.min(this.events.length, MAX_EVENTS);
    this.changed();
  }

  changed() {
    this.options.onChange(this);
  }
}
