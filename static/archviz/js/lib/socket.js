// A WebSocket client that reconnects with exponential backoff and jitter.
//
// Status callbacks receive {state, ...}:
//   {state: "connecting"}                        a connection attempt is under way
//   {state: "live"}                              open
//   {state: "reconnecting", retryAt, delayMs, code, description}
//   {state: "closed", code, description}         given up (a close code that retrying cannot fix, or close())
import { ProtocolError, closeIsRetryable, describeClose, parseServerFrame } from "./protocol.js";

const DEFAULTS = {
  url: null,
  onMessage: () => {},
  onStatus: () => {},
  onProtocolError: () => {},
  minDelayMs: 500,
  maxDelayMs: 8000,
  jitter: 0.25, // each delay is scaled by a random factor in [1 - jitter, 1 + jitter]
  parse: parseServerFrame,
  WebSocketImpl: globalThis.WebSocket,
};

// A server's retry hint past this is waited only this long (archviz/overload/reconnect.py's).
export const MAX_HINT_MS = 60_000;

/** The delay before reconnect attempt number `attempt` (0-based), before jitter. */
export function backoffDelay(attempt, minDelayMs, maxDelayMs) {
  return Math.min(maxDelayMs, minDelayMs * 2 ** Math.min(attempt, 30));
}

/** `delayMs` spread by ±jitter so that many tabs do not reconnect in lockstep. */
export function withJitter(delayMs, jitter, random = Math.random) {
  return Math.round(delayMs * (1 - jitter + 2 * jitter * random()));
}

/** The wait before reconnect attempt `attempt`: the backoff with jitter, never over the maximum. */
export function reconnectDelay(attempt, { minDelayMs, maxDelayMs, jitter }, random = Math.random) {
  return Math.min(maxDelayMs, withJitter(backoffDelay(attempt, minDelayMs, maxDelayMs), jitter, random));
}

// Every page's lab socket, and its frames, for what every page shares (the flight recorder's
// timeline, archviz/recorder/static/archviz/recorder/timeline.js): the page keeps its one socket.
const LAB_PATH = "/ws/lab/";
export const labFrames = new EventTarget(); // a "frame" event (detail: the frame) per frame
const labSockets = new Set();

/** The page's open lab socket, or null. */
export function labSocket() {
  for (const socket of labSockets) {
    if (socket.isOpen) return socket;
  }
  return null;
}

export class ReconnectingSocket {
  constructor(options) {
    this.options = { ...DEFAULTS, ...options };
    if (!this.options.url) {
      throw new Error("ReconnectingSocket needs a url");
    }
    this.ws = null;
    this.attempt = 0;
    this.retryTimer = null;
    this.stopped = false;
    this.hintMs = 0; // the server's "retry after" for the next reconnect (holdOff)
    if (new URL(this.options.url, "http://x").pathname === LAB_PATH) {
      labSockets.add(this);
    }
  }

  start() {
    this.stopped = false;
    this.connect();
    return this;
  }

  /** Send obj as JSON; returns false (and queues nothing) unless the socket is open. */
  send(obj) {
    const { WebSocketImpl } = this.options;
    if (!this.ws || this.ws.readyState !== WebSocketImpl.OPEN) {
      return false;
    }
    this.ws.send(JSON.stringify(obj));
    return true;
  }

  get isOpen() {
    return Boolean(this.ws) && this.ws.readyState === this.options.WebSocketImpl.OPEN;
  }

  close() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    if (this.ws) {
      this.ws.close(1000);
    }
    this.options.onStatus({ state: "closed", code: 1000, description: "closed by this page" });
  }

  connect() {
    const { WebSocketImpl, onStatus } = this.options;
    onStatus({ state: "connecting", attempt: this.attempt });
    let ws;
    try {
      ws = new WebSocketImpl(this.options.url);
    } catch (err) {
      this.options.onProtocolError(new ProtocolError(`cannot open WebSocket: ${err.message}`));
      this.scheduleReconnect(null);
      return;
    }
    this.ws = ws;
    ws.addEventListener("open", () => {
      this.attempt = 0;
      onStatus({ state: "live" });
    });
    ws.addEventListener("message", (event) => this.handleMessage(event.data));
    ws.addEventListener("close", (event) => {
      if (this.ws !== ws) {
        return;
      }
      this.ws = null;
      this.handleClose(event.code);
    });
    // An "error" event is always followed by "close", which does the work.
  }

  handleMessage(data) {
    let frame;
    try {
      frame = this.options.parse(data);
    } catch (err) {
      this.options.onProtocolError(err);
      return;
    }
    this.options.onMessage(frame);
    if (labSockets.has(this)) {
      labFrames.dispatchEvent(new CustomEvent("frame", { detail: frame }));
    }
  }

  handleClose(code) {
    const description = describeClose(code);
    if (this.stopped) {
      return;
    }
    if (!closeIsRetryable(code)) {
      this.options.onStatus({ state: "closed", code, description });
      return;
    }
    this.scheduleReconnect(code, description);
  }

  /** The server said to come back no sooner than `ms` (an overloaded node's refusal or shed,
   * before it closes): the next reconnect waits at least that long, at most MAX_HINT_MS. */
  holdOff(ms) {
    if (Number.isFinite(ms) && ms > 0) this.hintMs = Math.min(ms, MAX_HINT_MS);
  }

  scheduleReconnect(code, description = null) {
    const delayMs = Math.max(reconnectDelay(this.attempt, this.options), this.hintMs);
    this.hintMs = 0;
    this.attempt += 1;
    this.options.onStatus({
      state: "reconnecting",
      retryAt: Date.now() + delayMs,
      delayMs,
      code,
      description,
    });
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      if (!this.stopped) {
        this.connect();
      }
    }, delayMs);
  }
}
