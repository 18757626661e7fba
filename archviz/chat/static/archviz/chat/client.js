// A chat client in the browser: one room through the load balancer, reconnecting with
// the last sequence number it saw (the node replays what it missed), acknowledging what
// it reads (a client that stops reading is closed as too slow: 4008).
import { ReconnectingSocket } from "../js/lib/socket.js";
import { ProtocolError } from "../js/lib/protocol.js";

// archviz/chat/messages.py's frames, and the two an overloaded node sends any socket before it
// closes it (archviz/overload/messages.py): their retry hint holds the reconnect back.
export const CHAT_FRAME_TYPES = Object.freeze([
  "welcome",
  "message",
  "sent",
  "presence",
  "history_lost",
  "mode",
  "error",
  "pong",
  "overloaded",
  "shed",
]);

const ACK_EVERY_MS = 1000; // the server allows 1,000 frames unacknowledged

/** ws://host:port/ws/chat/<room>/?user=…&after=… for the load balancer at lbBase. */
export function chatSocketUrl(lbBase, room, user, after) {
  const url = new URL(`/ws/chat/${encodeURIComponent(room)}/`, lbBase);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  url.searchParams.set("user", user);
  if (after !== null && after !== undefined) url.searchParams.set("after", String(after));
  return url.toString();
}

/** The load balancer's base URL on the host that served this page. */
export function lbBaseUrl(port, location = window.location) {
  return `${location.protocol}//${location.hostname}:${port}`;
}

/** Parse a chat server frame; throws ProtocolError naming the problem. */
export function parseChatFrame(text) {
  let frame;
  try {
    frame = JSON.parse(text);
  } catch (err) {
    throw new ProtocolError(`frame is not JSON: ${err.message}`);
  }
  if (frame === null || typeof frame !== "object" || !CHAT_FRAME_TYPES.includes(frame.type)) {
    throw new ProtocolError(`unknown chat frame ${JSON.stringify(frame && frame.type)}`);
  }
  return frame;
}

/** What an overloaded node's refusal or shed means for this tab, in words. */
export function overloadWords(frame) {
  const what = frame.type === "shed" ? "shed this tab" : "refused this tab";
  const wait = Number.isFinite(frame.retry_after_ms) ? `; reconnecting in ${(frame.retry_after_ms / 1000).toFixed(1)} s or later` : "";
  return `${frame.node || "a node"} is overloaded and ${what}${wait}`;
}

/** Messages by sequence number: each kept once, in order; duplicates counted. */
export class MessageBook {
  constructor() {
    this.bySeq = new Map();
    this.last = null;
    this.duplicates = 0;
  }

  /** Returns true when the message is new. */
  add(message) {
    if (this.bySeq.has(message.seq)) {
      this.duplicates += 1;
      return false;
    }
    this.bySeq.set(message.seq, message);
    this.last = Math.max(this.last ?? 0, message.seq);
    return true;
  }

  get ordered() {
    return [...this.bySeq.values()].sort((a, b) => a.seq - b.seq);
  }
}

export class ChatConnection {
  constructor({ lbBase, room, user, onFrame = () => {}, onStatus = () => {} }) {
    this.room = room;
    this.user = user;
    this.lbBase = lbBase;
    this.onFrame = onFrame;
    this.onStatus = onStatus;
    this.book = new MessageBook();
    this.received = 0;
    this.acked = 0;
    this.node = null;
    this.closedAt = null;
    this.socket = null;
    this.ackTimer = null;
  }

  start() {
    this.socket = new ReconnectingSocket({
      url: this.url(),
      minDelayMs: 150,
      maxDelayMs: 4000,
      parse: parseChatFrame,
      onMessage: (frame) => this.handle(frame),
      onStatus: (status) => this.status(status),
      onProtocolError: (err) => this.onFrame({ type: "error", error: err.message }),
    });
    this.socket.start();
    this.ackTimer = setInterval(() => this.ack(), ACK_EVERY_MS);
    return this;
  }

  stop() {
    clearInterval(this.ackTimer);
    if (this.socket) this.socket.close();
  }

  url() {
    return chatSocketUrl(this.lbBase, this.room, this.user, this.book.last);
  }

  send(text) {
    const cid = Math.random().toString(36).slice(2, 12);
    return this.socket.send({ type: "send", text, cid }) ? cid : null;
  }

  sendRaw(obj) {
    return this.socket.send(obj);
  }

  status(status) {
    if (status.state === "reconnecting" || status.state === "closed") {
      this.closedAt = this.closedAt ?? Date.now();
      this.node = null;
      this.socket.options.url = this.url(); // reconnect with the last number seen
      this.received = this.acked = 0;
    }
    this.onStatus(status);
  }

  handle(frame) {
    this.received += 1;
    if (frame.type === "welcome") {
      this.node = frame.node;
      if (this.book.last === null) this.book.last = frame.seq;
      frame.reconnectMs = this.closedAt === null ? null : Date.now() - this.closedAt;
      this.closedAt = null;
    }
    if (frame.type === "overloaded" || frame.type === "shed") this.socket.holdOff(frame.retry_after_ms);
    if (frame.type === "message" && !this.book.add(frame)) return;
    this.onFrame(frame);
  }

  ack() {
    if (this.received !== this.acked && this.socket.send({ type: "ack", received: this.received })) {
      this.acked = this.received;
    }
  }
}
