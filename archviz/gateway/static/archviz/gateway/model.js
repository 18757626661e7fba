// The gateway page's pure rules (no DOM): a request's stages folded from its gateway.* trace
// events, what a refusal says, money and time in words, and an auction followed frame by
// frame by seq. Tested with node (tests/js/gateway.test.mjs).

// The stages a request goes through at a replica, in order (archviz/gateway/edge/).
export const STAGES = Object.freeze(["route", "authenticate", "authorise", "limit", "dispatch", "response"]);
export const STAGE_WORDS = Object.freeze({
  route: "route",
  authenticate: "authn",
  authorise: "authz",
  limit: "limit",
  dispatch: "dispatch",
  response: "answer",
});
const STAGE_KINDS = new Set([...STAGES, "deny", "retry"].map((s) => `gateway.${s}`));

/** Whether an event is one step of a request through a gateway replica. */
export function isStageEvent(event) {
  return STAGE_KINDS.has(event.kind) && event.kind !== "gateway.retry";
}

/** A fresh record of one request, from its first event. */
function newRequest(event) {
  return {
    trace: event.trace,
    replica: event.src,
    route: "",
    ts: event.ts,
    stages: {}, // stage -> "ok" | "failed"
    deniedAt: null, // the stage that refused it, when the gateway did
    status: null,
    verdict: "", // "ok", "401", ...
    service: "", // the service replica it was dispatched to
    error: "", // the token's error or the denial's
    ms: null,
    done: false,
  };
}

/** The request after one more of its events (pure: returns a new record). */
export function foldRequest(request, event) {
  const r = request ? { ...request, stages: { ...request.stages } } : newRequest(event);
  const detail = event.detail || {};
  if (detail.route) r.route = detail.route;
  const stage = event.kind.slice("gateway.".length);
  if (stage === "deny") {
    r.deniedAt = detail.stage || null;
    r.error = detail.token_error || detail.error || r.error;
    if (detail.status) r.status = detail.status;
    return r;
  }
  r.stages[stage] = event.ok ? "ok" : "failed";
  if (stage === "authenticate" && detail.error) r.error = detail.error;
  if (stage === "dispatch") r.service = event.dst;
  if (stage === "response") {
    r.status = detail.status ?? r.status;
    r.verdict = detail.verdict || "";
    r.ms = event.ms ?? null;
    r.done = true;
  }
  return r;
}

/** How a finished request is coloured: ok, denied (by the gateway), refused (by a service), failed. */
export function verdictTone(request) {
  if (request.status === null || request.status === undefined) return "pending";
  if (request.status < 400 || request.status === 101) return "ok";
  if (request.deniedAt) return "denied";
  return request.status >= 500 ? "failed" : "refused";
}

/** A request's outcome in one line: "200 via catalog-2 · 3.1 ms", "401 expired at authn". */
export function requestSummary(request) {
  if (!request.done) return "…";
  const took = request.ms === null ? "" : ` · ${request.ms < 10 ? request.ms.toFixed(1) : Math.round(request.ms)} ms`;
  if (request.deniedAt) {
    const why = request.error ? ` ${request.error}` : "";
    return `${request.status}${why} at ${STAGE_WORDS[request.deniedAt] || request.deniedAt}${took}`;
  }
  const via = request.service ? ` via ${request.service}` : "";
  return `${request.status}${via}${took}`;
}

/** Apply a batch of events to a Map of requests (trace -> record), keeping the newest `limit`. */
export function applyEvents(requests, events, limit = 12) {
  for (const event of [...events].sort((a, b) => a.ts - b.ts)) {
    if (!isStageEvent(event)) continue;
    requests.set(event.trace, foldRequest(requests.get(event.trace), event));
  }
  while (requests.size > limit) requests.delete(requests.keys().next().value);
  return requests;
}

// --- money and time ------------------------------------------------------------------------

/** Cents as currency units with two decimals and thousands separators: 123456 -> "1,234.56". */
export function formatCents(cents) {
  if (!Number.isFinite(cents)) return "—";
  const sign = cents < 0 ? "-" : "";
  const abs = Math.abs(Math.round(cents));
  const units = Math.floor(abs / 100).toLocaleString("en-US");
  return `${sign}${units}.${String(abs % 100).padStart(2, "0")}`;
}

/** Time left as "12:05", "1:02:03", or "ended". */
export function countdown(msLeft) {
  if (!Number.isFinite(msLeft) || msLeft <= 0) return "ended";
  const total = Math.ceil(msLeft / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

/** A suggested next bid: a little over the highest (or the starting price), in units text. */
export function suggestedBid(auction) {
  if (!auction) return "";
  const base = auction.highest_cents > 0 ? auction.highest_cents + Math.max(50, Math.round(auction.highest_cents * 0.02)) : auction.start_cents;
  return (Math.ceil(base / 10) / 10).toFixed(2);
}

// --- answers --------------------------------------------------------------------------------

/** The RateLimit headers of an answer in words, or "" when it has none (or they are hidden). */
export function rateLimitWords(headers) {
  const limit = headers.get("RateLimit");
  const policy = headers.get("RateLimit-Policy");
  const parts = [];
  const remaining = /r=(\d+)/.exec(limit || "");
  if (remaining) parts.push(`${remaining[1]} left`);
  const quota = /q=(\d+)/.exec(policy || "");
  const window = /w=(\d+)/.exec(policy || "");
  if (quota) parts.push(`quota ${quota[1]}${window ? ` per ${window[1]} s` : ""}`);
  return parts.join(", ");
}

/**
 * What a refusal means, in words, from its status, its JSON body and its headers:
 * {title, detail}. Every field a learner needs is named: the token's error, the scope, the
 * current highest bid, the wait.
 */
export function denialWords(status, body, headers) {
  const b = body && typeof body === "object" ? body : {};
  const message = typeof b.message === "string" ? b.message : "";
  const error = typeof b.error === "string" ? b.error : "";
  if (status === 401) {
    const challenge = headers.get("WWW-Authenticate") || "";
    return { title: `401 Unauthorized: error=${error || "missing"}`, detail: [message, challenge].filter(Boolean).join(" · ") };
  }
  if (status === 403) return { title: `403 Forbidden: ${error || "forbidden"}`, detail: message };
  if (status === 409) {
    // A service's gRPC status, mapped to HTTP by the gateway: both are worth seeing.
    const grpc = b.service && error ? ` (the ${b.service} service's gRPC ${error.toUpperCase()})` : "";
    const said = b.highest && message.includes(b.highest);
    const highest = b.highest && !said ? ` Highest now: ${b.highest}${b.highest_bidder ? ` by ${b.highest_bidder}` : ""}.` : "";
    return { title: grpc ? `409 Conflict${grpc}` : `409 Conflict: ${error || "refused"}`, detail: `${message}${highest}` };
  }
  if (status === 413) return { title: "413 Content Too Large", detail: message };
  if (status === 429) {
    const wait = headers.get("Retry-After");
    const limits = rateLimitWords(headers);
    const extra = [wait ? `Retry-After: ${wait} s` : "", limits].filter(Boolean).join(" · ");
    return { title: "429 Too Many Requests", detail: [message, extra].filter(Boolean).join(" · ") };
  }
  return { title: `${status} ${error || "error"}`, detail: message };
}

/** Why an auction socket closed, and whether signing in again is the way out. */
export function closeWords(code, reason) {
  const signIn = { 4010: "Your token expired.", 4011: "An instructor revoked your token.", 4012: "The gateway refused the token." }[code];
  if (signIn) return { text: `${signIn} (close ${code}${reason ? `: ${reason}` : ""})`, signInAgain: true, retry: false };
  if (code === 1000) return { text: "Closed.", signInAgain: false, retry: false };
  return { text: `The connection dropped (close ${code}${reason ? `: ${reason}` : ""}); reconnecting…`, signInAgain: false, retry: true };
}

// --- an auction, followed by seq --------------------------------------------------------------

/** A watcher's view: the auction's state and its history, newest first. */
export function emptyWatch() {
  return { auction: null, seq: 0, history: [], replica: "", resyncs: 0 };
}

function fromState(watch, state) {
  return { ...watch, auction: { ...state }, seq: state.seq };
}

/** One update applied: ignored when it is one already seen (seq not past the last). */
export function applyUpdate(watch, update, historyKept = 12) {
  if (update.seq <= watch.seq) return watch;
  const auction = {
    ...watch.auction,
    seq: update.seq,
    highest_cents: update.amount_cents,
    highest_bidder: update.type === "closed" ? watch.auction?.highest_bidder || update.bidder : update.bidder,
    ends_at_ms: update.ends_at_ms,
  };
  if (update.type === "closed") {
    auction.closed = true;
    auction.winner = update.bidder;
  }
  if (update.type === "opened") Object.assign(auction, { closed: false, winner: "", highest_bidder: "" });
  const history = [update, ...watch.history].slice(0, historyKept);
  return { ...watch, auction, seq: update.seq, history };
}

/** The watch after one frame of the auction socket (welcome, update, resync, pong, error). */
export function applyAuctionFrame(watch, frame) {
  if (frame.type === "welcome") {
    // A reconnect that asked for `after` keeps its history; the updates it missed follow.
    const kept = frame.after === null || frame.after === undefined ? [] : watch.history;
    return { ...fromState(watch, frame.auction), history: kept, replica: frame.replica || "", seq: frame.after ?? frame.auction.seq };
  }
  if (frame.type === "update") return applyUpdate(watch, frame.update);
  if (frame.type === "resync") return { ...fromState(watch, frame.auction), history: [], resyncs: watch.resyncs + 1 };
  return watch;
}

/** The history to show: what the socket brought and what the lab's state last listed, each
 * update once (by seq), newest first. */
export function mergedHistory(live, recent, kept = 10) {
  const bySeq = new Map();
  for (const update of [...(recent || []), ...(live || [])]) bySeq.set(update.seq, update);
  return [...bySeq.values()].sort((a, b) => b.seq - a.seq).slice(0, kept);
}

/** The auction socket's URL: the gateway's base, the auction, and the last seq seen (if any). */
export function auctionSocketUrl(base, auctionId, after) {
  const url = new URL(`/ws/auctions/${encodeURIComponent(auctionId)}/`, base);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  if (after > 0) url.searchParams.set("after", String(after));
  return url.toString();
}

/** A token's life left, in words: "expires in 4:59", or "expired". */
export function tokenLeft(expiresAtMs, nowMs) {
  const left = expiresAtMs - nowMs;
  return left > 0 ? `expires in ${countdown(left)}` : "expired";
}

// --- the side by side and the scenarios ----------------------------------------------------

const STATUS_WORDS = { 0: "no answer", 200: "200 OK", 401: "401", 403: "403", 404: "404", 405: "405", 429: "429", 503: "503" };

/** Answers by status in one line, the most common first: "200 OK ×19 · 429 ×11". */
export function countsCell(counts) {
  const rows = Object.entries(counts || {}).sort((a, b) => b[1] - a[1]);
  if (!rows.length) return "—";
  return rows.map(([status, n]) => `${STATUS_WORDS[status] || status}${n > 1 || rows.length > 1 ? ` ×${n}` : ""}`).join(" · ");
}

/** What reached the catalog, with its counters by token verdict: "20 requests (valid ×20)". */
export function reachedWords(total, byToken, counted) {
  if (!counted) return "not counted";
  const parts = Object.entries(byToken || {}).map(([verdict, n]) => `${verdict} ×${n}`);
  return `${total} request${total === 1 ? "" : "s"}${parts.length ? ` (${parts.join(", ")})` : ""}`;
}

/** The signing keys in a line: "abc123… current · def456… retiring until 15:30". */
export function keysWords(keys, formatTime) {
  if (!keys || !keys.length) return "none yet";
  return keys
    .map((k) => `${k.kid.slice(0, 8)}… ${k.state}${k.state === "retiring" && k.retire_at ? ` until ${formatTime(k.retire_at * 1000)}` : ""}`)
    .join(" · ");
}

/** The replica a scenario should pick first: the one this tab's socket is on, else the busiest. */
export function defaultReplica(replicas, mine) {
  const up = replicas.filter((r) => r.status === "up");
  if (mine && up.some((r) => r.id === mine)) return mine;
  const busiest = [...up].sort((a, b) => b.websockets - a.websockets)[0];
  return busiest ? busiest.id : replicas[0]?.id || "";
}
