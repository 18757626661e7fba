// The tab as a client of the gateway: it asks the auth service for a token, watches an
// auction over the gateway's WebSocket (token in the bearer subprotocol), resumes by seq
// after a drop, and bids. Every call goes through the balancer's gateway listener; every
// refusal is shown with its status and reason as the gateway answered it.
import { fieldsOf, text } from "../js/lib/dom.js";
import { reconnectDelay } from "../js/lib/socket.js";
import {
  applyAuctionFrame,
  auctionSocketUrl,
  closeWords,
  countdown,
  denialWords,
  emptyWatch,
  formatCents,
  mergedHistory,
  suggestedBid,
  tokenLeft,
} from "./model.js";

const BACKOFF = { minDelayMs: 500, maxDelayMs: 8000, jitter: 0.25 };
const HISTORY_SHOWN = 10;

/** A trace id of 16 hex digits, as the lab makes them: the gateway keeps it for its events. */
export function newTraceId() {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function jsonOf(response) {
  try {
    return await response.json();
  } catch {
    return {};
  }
}

export class GatewayClient {
  /** base(): the gateway's URL through the balancer, or null while it is not known. */
  constructor({ base, onSent = () => {} }) {
    this.base = base;
    this.onSent = onSent;
    this.mine = new Set();
  }

  /** One request through the gateway: {status, body, headers, trace}, or {error} if it never got an answer. */
  async send(method, path, { body = undefined, token = null, credentials = "omit", trace = newTraceId() } = {}) {
    const base = this.base();
    if (!base) return { error: "the balancer's gateway listener is not up yet", trace };
    const headers = { "X-Archviz-Trace": trace };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (token) headers.Authorization = `Bearer ${token}`;
    this.mine.add(trace);
    this.onSent(trace);
    try {
      const response = await fetch(new URL(path, base), {
        method, headers, credentials, body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: response.status, body: await jsonOf(response), headers: response.headers, trace };
    } catch (err) {
      return { error: `no answer from the gateway (${err.message}); is it up, and does it allow this page's origin?`, trace };
    }
  }
}

export class AuctionPanel {
  constructor({ client, elements, notices }) {
    this.client = client;
    this.e = elements;
    this.notices = notices;
    this.token = null; // {value, expiresAt, kid, jti, role, scope, name}
    this.auctions = [];
    this.auctionId = "";
    this.watch = emptyWatch();
    this.ws = null;
    this.attempt = 0;
    this.retryTimer = null;
    this.live = fieldsOf(elements.live);
    this.tokenFields = fieldsOf(elements.tokenBox);
  }

  // --- tokens ------------------------------------------------------------------------------

  async signIn(name, role, ttl) {
    this.say(this.e.result, "Asking the auth service for a token…");
    const credentials = role === "instructor" ? "include" : "omit"; // the dashboard's cookie proves it
    const answer = await this.client.send("POST", "/auth/token", { body: { name, role, ttl_s: ttl }, credentials });
    if (answer.error || answer.status >= 300) return this.refused(answer, "Sign-in refused");
    const b = answer.body;
    this.token = { value: b.token, expiresAt: Date.now() + b.expires_in * 1000, kid: b.kid, jti: b.jti, role: b.role, scope: b.scope, name };
    this.say(this.e.result, `Signed in as ${name} (${b.role}). The token is a signed JWT: the gateway checks it on every request.`, "ok");
    this.renderToken();
    this.reconnect(true);
    return true;
  }

  signOut() {
    this.token = null;
    this.closeSocket();
    this.renderToken();
    this.say(this.e.result, "Token forgotten: requests from this tab now carry none.");
  }

  renderToken() {
    const t = this.token;
    this.e.tokenBox.hidden = !t;
    this.e.signout.hidden = !t;
    // Without a token the button stays: the gateway's 401 is part of the lesson.
    text(this.e.bid, t ? "Bid" : "Bid without a token");
    if (!t) return;
    text(this.tokenFields.role, `${t.role} · ${t.name}`);
    text(this.tokenFields.kid, t.kid || "—");
    text(this.tokenFields.jti, t.jti || "—"); // not a secret: an instructor revokes by it
    text(this.tokenFields.scope, t.scope || "—");
    this.tick();
  }

  // --- the auction socket -----------------------------------------------------------------------

  setAuctions(auctions) {
    this.auctions = auctions;
    const select = this.e.select;
    const ids = auctions.map((a) => a.id).join(",");
    if (select.getAttribute("data-ids") !== ids) {
      select.setAttribute("data-ids", ids);
      const keep = this.auctionId || select.value;
      select.replaceChildren(...auctions.map((a) => new Option(`${a.title} (${a.id})`, a.id)));
      if (keep && ids.split(",").includes(keep)) select.value = keep;
      select.disabled = auctions.length === 0;
    }
    if (!this.auctionId && select.value) this.choose(select.value);
    if (!this.ws) this.renderAuction(); // not watching: show the state frames' numbers
  }

  choose(auctionId) {
    if (auctionId === this.auctionId) return;
    this.auctionId = auctionId;
    this.watch = emptyWatch();
    this.e.history.replaceChildren();
    this.reconnect(true);
    this.renderAuction();
  }

  current() {
    return this.watch.auction || this.auctions.find((a) => a.id === this.auctionId) || null;
  }

  reconnect(fresh) {
    this.closeSocket();
    if (fresh) this.attempt = 0;
    if (!this.token || !this.auctionId) {
      this.socketSays(this.token ? "choose an auction" : "closed: sign in to watch");
      return;
    }
    const base = this.client.base();
    if (!base) {
      this.socketSays("waiting for the gateway listener…");
      return;
    }
    const ws = new WebSocket(auctionSocketUrl(base, this.auctionId, this.watch.seq), ["bearer", this.token.value]);
    this.ws = ws;
    this.socketSays(this.watch.seq ? `reconnecting after seq ${this.watch.seq}…` : "connecting…");
    ws.addEventListener("message", (event) => this.onFrame(event.data));
    ws.addEventListener("close", (event) => {
      if (this.ws === ws) this.onClose(event.code, event.reason);
    });
  }

  closeSocket() {
    clearTimeout(this.retryTimer);
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.close(1000);
    }
  }

  onFrame(data) {
    let frame;
    try {
      frame = JSON.parse(data);
    } catch {
      return;
    }
    if (frame.type === "welcome") {
      this.attempt = 0;
      const resumed = frame.after ? `, resumed after seq ${frame.after}` : "";
      this.socketSays(`live on ${frame.replica}${resumed}`, "ok");
    }
    if (frame.type === "error") this.notices.show(`The gateway said: ${frame.message}`, "error");
    this.watch = applyAuctionFrame(this.watch, frame);
    this.renderAuction();
  }

  onClose(code, reason) {
    this.ws = null;
    const words = closeWords(code, reason);
    if (words.signInAgain) {
      this.socketSays(`${words.text} Sign in again to watch.`, "error");
      this.token = null;
      this.renderToken();
      this.say(this.e.result, words.text, "error");
      return;
    }
    if (!words.retry || !this.token) {
      this.socketSays(words.text);
      return;
    }
    const delay = reconnectDelay(this.attempt, BACKOFF);
    this.attempt += 1;
    this.socketSays(`dropped (close ${code}); reconnecting in ${(delay / 1000).toFixed(1)} s, resuming after seq ${this.watch.seq}…`, "error");
    this.retryTimer = setTimeout(() => this.reconnect(false), delay);
  }

  socketSays(message, tone = "info") {
    text(this.live.socket, message);
    this.live.socket.setAttribute("data-tone", tone);
  }

  renderAuction() {
    const a = this.current();
    this.e.live.setAttribute("data-state", !a ? "none" : a.closed ? "closed" : "open");
    this.e.bid.disabled = !a;
    if (!a) return;
    text(this.live.title, a.title || a.id);
    text(this.live.highest, a.highest_cents > 0 ? formatCents(a.highest_cents) : `no bid yet · starts at ${formatCents(a.start_cents)}`);
    this.live.highest.toggleAttribute("data-empty", !(a.highest_cents > 0));
    text(this.live.bidder, a.highest_bidder || a.bidder || "nobody");
    this.live.winner.hidden = !a.closed;
    text(this.live.winner, a.winner ? `Closed: ${a.winner} won with ${formatCents(a.highest_cents)}.` : "Closed: nobody bid.");
    if (!this.e.amount.value || this.e.amount.getAttribute("data-auto") === "1") {
      this.e.amount.value = suggestedBid(a);
      this.e.amount.setAttribute("data-auto", "1");
    }
    const listed = this.auctions.find((x) => x.id === this.auctionId)?.recent || [];
    const rows = mergedHistory(this.watch.history, listed, HISTORY_SHOWN);
    this.e.history.replaceChildren(...rows.map((u) => this.historyRow(u)));
    this.tick();
  }

  historyRow(update) {
    const li = document.createElement("li");
    li.setAttribute("data-type", update.type);
    const what = { bid: `${formatCents(update.amount_cents)} by ${update.bidder}`, opened: "opened", closed: update.bidder ? `closed: ${update.bidder} won` : "closed: nobody bid" }[update.type] || update.type;
    li.textContent = `#${update.seq} ${what}`;
    return li;
  }

  /** The countdowns: the auction's end and the token's life. */
  tick() {
    const a = this.current();
    if (a) text(this.live.ends, a.closed ? "ended" : `ends in ${countdown(a.ends_at_ms - Date.now())}`);
    if (this.token) {
      text(this.tokenFields.left, tokenLeft(this.token.expiresAt, Date.now()));
      this.tokenFields.left.setAttribute("data-tone", this.token.expiresAt - Date.now() < 10_000 ? "error" : "info");
    }
  }

  // --- bids ------------------------------------------------------------------------------------

  async bid(amountText) {
    const amount = amountText.trim();
    this.e.amount.setAttribute("data-auto", "0");
    this.say(this.e.result, `Bidding ${amount || "(nothing)"}…`);
    const path = `/auctions/${encodeURIComponent(this.auctionId)}/bids`;
    const answer = await this.client.send("POST", path, { body: { amount }, token: this.token?.value });
    if (answer.error || answer.status >= 300) return this.refused(answer, "Bid refused");
    const b = answer.body;
    this.say(this.e.result, `Bid accepted: ${b.highest} is the highest bid (seq ${b.seq}); every watching tab gets it from its own gateway replica.`, "ok");
    this.e.amount.setAttribute("data-auto", "1");
    return true;
  }

  refused(answer, what) {
    if (answer.error) {
      this.say(this.e.result, `${what}: ${answer.error}`, "error");
      return false;
    }
    const words = denialWords(answer.status, answer.body, answer.headers);
    this.say(this.e.result, `${what} — ${words.title}. ${words.detail}`, "error");
    return false;
  }

  say(element, message, tone = "info") {
    element.textContent = message;
    element.setAttribute("data-tone", tone);
  }
}
