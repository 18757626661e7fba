// The dashboard WebSocket's wire vocabulary, mirrored from Python: archviz/dashboard/messages.py
// (frames, node statuses), archviz/core/labsocket.py (ack and error frames, the request types
// the apps register), archviz/lab/control.py (node actions), archviz/trace/events.py (trace
// events) and archviz/core/close_codes.py (close codes). Change them together:
// tests/test_protocol_mirror.py compares them.

// The trace-event schema the pages read (events.py validates every event before a page sees it).
export const SCHEMA_VERSION = 1;

export const NODE_STATUSES = Object.freeze(["starting", "up", "paused", "down", "stopped", "failed"]);

export const CONTROL_ACTIONS = Object.freeze(["kill", "stop", "restart", "pause", "resume"]);

// server -> client: each frame's type and the fields beside it.
export const SERVER_FRAMES = Object.freeze({
  welcome: ["user", "recent"],
  state: ["state", "invalid_events", "replay"], // invalid_events: trace events this dashboard process dropped; replay: on replayed frames only
  trace: ["events", "replay"],
  pong: ["trace", "node", "ms", "count"],
  ack: ["action", "node"],
  error: ["reason", "request", "node"],
  lagging: ["dropped"],
  gateway_compare: ["result"], // the gateway page's side-by-side run (archviz/gateway/socket.py)
  class: ["state", "ended"], // the running class's state (archviz/classroom/messages.py)
  class_roster: ["roster", "answered"], // the instructor's answer to class.roster
});

export const SERVER_FRAME_TYPES = Object.freeze(Object.keys(SERVER_FRAMES));

// kind -> what it means, in words a learner can read.
export const TRACE_KINDS = Object.freeze({
  "node.start": "the supervisor started a node process",
  "node.up": "a node registered itself in Redis",
  "node.down": "a node process exited",
  "node.heartbeat_lost": "a node's registry entry in Redis expired",
  "node.failed": "a node crashed too often; the supervisor gave up",
  "node.stop": "a node was stopped on purpose",
  "node.update": "a node's runtime parameters changed",
  "redis.down": "Redis became unreachable",
  "redis.up": "Redis is reachable again",
  "redis.client_closed": "Redis closed a subscriber too slow to read: its output buffer passed the limit",
  "fault.inject": "an instructor's command",
  "http.request": "an HTTP request",
  "http.response": "an HTTP response",
  "pubsub.publish": "a message published to a Redis channel",
  "pubsub.deliver": "a Redis channel delivered a message to a subscriber",
  "pubsub.lost": "a subscriber's connection to Redis broke: it reconnects, and what was in flight is lost",
  "trace.dropped": "a process had to drop trace events",
  "lb.route": "the load balancer routed a request to a node",
  "lb.algorithm": "the load balancer switched algorithm",
  "lb.health": "the load balancer changed a node's health",
  "lb.retry": "the load balancer retried a request on another node",
  "lb.reject": "the load balancer had no healthy node: 503",
  "session.read": "a node loaded a session, from its own memory or from Redis",
  "session.write": "a node saved a session, into its own memory or into Redis",
  "queue.enqueue": "a producer added a job to the queue (XADD)",
  "queue.deliver": "the queue gave a job to a consumer (XREADGROUP)",
  "queue.ack": "a consumer finished a job and acknowledged it (XACK)",
  "queue.redeliver": "a job came back for another try (claimed, or re-read after a restart)",
  "queue.fail": "a consumer's handler failed; the job stays pending",
  "queue.dead": "a job went to the dead-letter stream",
  "queue.duplicate": "a job was finished twice; the second was not counted",
  "ws.open": "a chat WebSocket was accepted by a node",
  "ws.close": "a chat WebSocket closed",
  "chat.send": "a chat client sent a message to its node",
  "chat.deliver": "a node forwarded a room message to its own clients",
  "chat.recover": "a node replayed missed messages from the room's history",
  "chat.lost": "history was trimmed: a client was told it lost messages",
  "chat.refuse": "a node refused a chat frame (bad input, flood or too slow)",
  "chat.mode": "the chat broadcast mode was switched",
  "presence.join": "a user joined a room",
  "presence.leave": "a user left a room (clean close)",
  "presence.offline": "a user's heartbeats expired: detected offline",
  "auth.issue": "the auth service signed a token (or refused one)",
  "auth.rotate": "an instructor rotated the signing key",
  "auth.revoke": "an instructor revoked a token",
  "auth.expire_all": "an instructor expired every token issued so far",
  "gateway.route": "the gateway matched a request's route (or found none: 404/405)",
  "gateway.authenticate": "the gateway verified a request's token (or refused it)",
  "gateway.authorise": "the gateway checked the token's scopes against the route's",
  "gateway.limit": "the gateway took a token from the consumer's bucket in Redis (or could not)",
  "gateway.dispatch": "the gateway sent a request to a service replica (HTTP or gRPC)",
  "gateway.retry": "the gateway tried a request once more on another replica",
  "gateway.response": "the gateway answered: its time in the gateway and upstream",
  "gateway.deny": "the gateway refused a request itself: no service saw it",
  "gateway.subscribe": "a gateway replica subscribed to an auction for its first watcher",
  "gateway.unsubscribe": "a gateway replica unsubscribed as an auction's last watcher left",
  "gateway.watch": "a gateway replica welcomed an auction watcher and caught it up",
  "gateway.unwatch": "an auction watcher's socket closed",
  "gateway.policy": "a gateway replica put a class of routes under a new rate limit",
  "shed.reject": "an overloaded node refused a WebSocket handshake (4013, with a retry hint)",
  "shed.disconnect": "an overloaded node shed a batch of its WebSockets (4014, with a retry hint)",
});

// Close codes archviz sends (archviz/core/close_codes.py). `retry` says whether
// reconnecting can help: a missing login or a wrong origin will not fix itself.
export const CLOSE_CODES = Object.freeze({
  1009: { name: "MESSAGE_TOO_BIG", description: "message too big (over 64 KiB)", retry: true },
  4001: { name: "LOGIN_REQUIRED", description: "login required", retry: false },
  4003: { name: "FORBIDDEN_ORIGIN", description: "origin not allowed", retry: false },
  4008: {
    name: "TOO_SLOW",
    description: "client too slow: its outgoing queue overflowed",
    retry: true,
  },
  4029: { name: "FLOODING", description: "too many messages per second", retry: true },
  4013: { name: "OVERLOADED", description: "server overloaded: try again later", retry: true },
  4014: {
    name: "SHED",
    description: "shed to relieve an overloaded server: reconnect after the hint",
    retry: true,
  },
  4004: { name: "BAD_ROOM", description: "bad room name: 1-40 letters, digits, - or _", retry: false },
  4009: { name: "ROOMS_FULL", description: "too many chat rooms: join one that exists", retry: false },
  4010: { name: "TOKEN_EXPIRED", description: "your token expired: get a new one", retry: false },
  4011: {
    name: "TOKEN_REVOKED",
    description: "your token was revoked by an instructor",
    retry: false,
  },
  4012: { name: "TOKEN_REFUSED", description: "no valid token in time: send it first", retry: false },
});

export const MAX_FRAME_BYTES = 64 * 1024;

/** The human description of a close code, or null when archviz does not send it. */
export function describeClose(code) {
  const known = CLOSE_CODES[code];
  return known ? known.description : null;
}

/** Whether reconnecting after this close code can succeed. */
export function closeIsRetryable(code) {
  const known = CLOSE_CODES[code];
  return known ? known.retry : true;
}

export class ProtocolError extends Error {}

/** Parse one server frame; throws ProtocolError naming the problem. */
export function parseServerFrame(text) {
  let frame;
  try {
    frame = JSON.parse(text);
  } catch (err) {
    throw new ProtocolError(`frame is not JSON: ${err.message}`);
  }
  if (frame === null || typeof frame !== "object" || Array.isArray(frame)) {
    throw new ProtocolError("frame is not a JSON object");
  }
  if (!SERVER_FRAME_TYPES.includes(frame.type)) {
    throw new ProtocolError(`unknown frame type ${JSON.stringify(frame.type)}`);
  }
  return frame;
}

/** A dashboard process may call itself "dashboard-8000"; they all share one box. */
export function componentBoxId(componentId) {
  return componentId.startsWith("dashboard") ? "dashboard" : componentId;
}

// client -> server: every message a page sends is built here, and is one of these.
export const REQUEST_TYPES = Object.freeze([
  "ping",
  "control",
  "lb.algorithm",
  "traffic",
  "node.config",
  "node.add",
  "node.remove",
  "session.mode",
  "chat.mode",
  "chat.bots",
  "queue.control",
  "queue.enqueue",
  "queue.add",
  "queue.remove",
  "gateway.bots",
  "gateway.kill",
  "gateway.limit",
  "gateway.compare",
  "overload.clients",
  "overload.hog",
  "overload.balloon",
  "overload.shed",
  "overload.double",
  "overload.restore",
  "overload.reconnect",
  "overload.shed_policy",
  "replay",
  "replay.stop",
  "class.goto",
  "class.highlight",
  "class.pause",
  "class.poll",
  "class.reveal",
  "class.roster",
  "class.state",
  "class.heartbeat",
  "class.answer",
]);

/** The flight recorder (archviz/recorder/socket.py): replay from `start` (unix ms) at `speed`
 * (0.25 to 8); `everyone`: every tab of the class (instructors only). */
export function replayRequest(start, speed, { end, recording, everyone } = {}) {
  const request = { type: "replay", start: Math.round(start), speed };
  if (end !== undefined) request.end = Math.round(end);
  if (recording) request.recording = recording;
  if (everyone) request.everyone = true;
  return request;
}

export function replayStopRequest(everyone = false) {
  return everyone ? { type: "replay.stop", everyone: true } : { type: "replay.stop" };
}

export function pingRequest(nodeId) {
  return { type: "ping", node: nodeId };
}

export function controlRequest(action, nodeId) {
  if (!CONTROL_ACTIONS.includes(action)) {
    throw new ProtocolError(`unknown control action ${JSON.stringify(action)}`);
  }
  return { type: "control", action, node: nodeId };
}

export function algorithmRequest(algorithm) {
  return { type: "lb.algorithm", algorithm };
}

/** settings: {rate, work_ms, variance_ms, ws_clients}, sent flat beside the type. */
export function trafficRequest(settings) {
  return { type: "traffic", ...settings };
}

/** settings: the changed node settings only ({capacity, latency_ms, jitter_ms, weight}). */
export function nodeConfigRequest(nodeId, settings) {
  return { type: "node.config", node: nodeId, settings };
}

export function nodeAddRequest() {
  return { type: "node.add" };
}

export function nodeRemoveRequest(nodeId) {
  return { type: "node.remove", node: nodeId };
}

/** The sessions demo: an instructor switches where sessions live (local, sticky, redis). */
export function sessionModeRequest(mode) {
  return { type: "session.mode", mode };
}

/** The chat demo: an instructor switches the broadcast mode (local or redis). */
export function chatModeRequest(mode) {
  return { type: "chat.mode", mode };
}

/** The chat demo: an instructor sets how many bots talk in a room. */
export function chatBotsRequest(room, count) {
  return { type: "chat.bots", room, count };
}

// The queue page's requests (archviz/queue/control.py checks them on the server).
export const QUEUE_ACTIONS = Object.freeze(["stop", "start", "kill"]);

/** Stop or start every consumer (consumer ""), or one; kill: the busiest one. */
export function queueControlRequest(action, consumer = "") {
  if (!QUEUE_ACTIONS.includes(action)) {
    throw new ProtocolError(`unknown queue action ${JSON.stringify(action)}`);
  }
  return { type: "queue.control", action, consumer };
}

/** kind: "normal" (anyone), "poison" or "malformed" (instructors). */
export function queueEnqueueRequest(count, kind = "normal") {
  return { type: "queue.enqueue", count, kind };
}

export function queueAddRequest() {
  return { type: "queue.add" };
}

export function queueRemoveRequest(consumer) {
  return { type: "queue.remove", consumer };
}

// The gateway page's requests (archviz/gateway/socket.py checks them on the server).

/** Instructors: how many bidding bots run (0 stops them). */
export function gatewayBotsRequest(count) {
  return { type: "gateway.bots", count };
}

/** Instructors: SIGKILL a gateway replica or a bidding replica. */
export function gatewayKillRequest(node) {
  return { type: "gateway.kill", node };
}

/** Instructors: a live rate-limit policy for a class of routes, or `reset` to its default. */
export function gatewayLimitRequest(policy, { rate, burst, reset = false } = {}) {
  return reset ? { type: "gateway.limit", policy, reset: true } : { type: "gateway.limit", policy, rate, burst };
}

/** The same five requests through the gateway and around it; instructors: for the class. */
export function gatewayCompareRequest(forClass = false) {
  return { type: "gateway.compare", for_class: forClass };
}

// The overload page's requests (archviz/overload/socket.py checks them on the server).

/** Instructors: the overload clients process holds `count` WebSockets on `target` (a node or
 * "lb") for `seconds` (then the flood ends by itself). */
export function overloadClientsRequest(count, target, seconds) {
  return seconds === undefined
    ? { type: "overload.clients", count, target }
    : { type: "overload.clients", count, target, seconds };
}

/** Instructors: a real CPU hog in a node's process for `seconds`. */
export function overloadHogRequest(node, seconds) {
  return { type: "overload.hog", node, seconds };
}

/** Instructors: `mb` of memory really allocated in a node for `seconds`. */
export function overloadBalloonRequest(node, mb, seconds) {
  return { type: "overload.balloon", node, mb, seconds };
}

/** Instructors: a node disconnects `percent` of its WebSockets now. */
export function overloadShedRequest(node, percent) {
  return { type: "overload.shed", node, percent };
}

/** Instructors: twice the cluster's offered load, with every node's limiter "on" or "off". */
export function overloadDoubleRequest(limiter) {
  return { type: "overload.double", limiter };
}

/** Instructors: the load from before the doubling, and every limiter back on. */
export function overloadRestoreRequest() {
  return { type: "overload.restore" };
}

/** Instructors: how bots and tabs reconnect (policy, and optionally base_ms, cap_ms). */
export function overloadReconnectRequest(policy, { baseMs, capMs } = {}) {
  const request = { type: "overload.reconnect", policy };
  if (baseMs !== undefined) request.base_ms = baseMs;
  if (capMs !== undefined) request.cap_ms = capMs;
  return request;
}

/** Instructors: which clients every node sheds first. */
export function overloadShedPolicyRequest(policy) {
  return { type: "overload.shed_policy", policy };
}

// The classroom (archviz/classroom/socket.py): the instructor's commands, a member's tab's.
/** where: {path, lesson?, step?}: the page the instructor is on, and its lesson's step. */
export function classGotoRequest(where) {
  return { type: "class.goto", ...where };
}

/** elementId: what the instructor points at on the page (null: nothing). */
export function classHighlightRequest(elementId) {
  return { type: "class.highlight", element: elementId };
}

export function classPauseRequest(paused) {
  return { type: "class.pause", paused };
}

export function classPollRequest(lesson, step) {
  return { type: "class.poll", lesson, step };
}

export function classRevealRequest() {
  return { type: "class.reveal" };
}

/** The class as it is now (a tab asks as its socket opens). */
export function classStateRequest() {
  return { type: "class.state" };
}

export function classRosterRequest() {
  return { type: "class.roster" };
}

/** member: the token of the learner's session; mode: "follow" or "free". */
export function classHeartbeatRequest(member, mode) {
  return { type: "class.heartbeat", member, mode };
}

export function classAnswerRequest(member, choice) {
  return { type: "class.answer", member, choice };
}
