// The gateway page's pure rules (archviz/gateway/model.js), imported as the browser gets them.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { importServed } from "./served.mjs";

const m = await importServed("archviz/gateway/model.js");

const ev = (kind, fields = {}) => ({
  kind, trace: "t1", src: "gateway-1", dst: "gateway-1", ts: 1, ok: true, ms: 0.2, detail: {}, ...fields,
});
const headers = (pairs) => new Map(Object.entries(pairs));

describe("a request folded from its gateway.* events", () => {
  test("an accepted read goes through every stage and names the service that answered", () => {
    const events = [
      ev("gateway.route", { ts: 1, detail: { route: "catalog.list" } }),
      ev("gateway.authenticate", { ts: 2, detail: { sub: "ada" } }),
      ev("gateway.authorise", { ts: 3 }),
      ev("gateway.limit", { ts: 4, dst: "redis" }),
      ev("gateway.dispatch", { ts: 5, dst: "catalog-2" }),
      ev("gateway.response", { ts: 6, dst: "client", ms: 3.14, detail: { status: 200, verdict: "ok" } }),
    ];
    const requests = m.applyEvents(new Map(), events.reverse()); // out of order: sorted by ts
    const r = requests.get("t1");
    assert.deepEqual(Object.keys(r.stages), ["route", "authenticate", "authorise", "limit", "dispatch", "response"]);
    assert.equal(r.route, "catalog.list");
    assert.equal(r.service, "catalog-2");
    assert.equal(m.verdictTone(r), "ok");
    assert.equal(m.requestSummary(r), "200 via catalog-2 · 3.1 ms");
  });

  test("a forged token stops at authenticate: denied, with the token's error", () => {
    const r = [
      ev("gateway.route", { ts: 1 }),
      ev("gateway.authenticate", { ts: 2, ok: false, detail: { error: "bad_signature" } }),
      ev("gateway.deny", { ts: 3, ok: false, detail: { stage: "authenticate", status: 401, token_error: "bad_signature" } }),
      ev("gateway.response", { ts: 4, ok: false, ms: 0.8, detail: { status: 401, verdict: "401" } }),
    ].reduce((acc, e) => m.foldRequest(acc, e), null);
    assert.equal(r.stages.authenticate, "failed");
    assert.equal(r.stages.dispatch, undefined);
    assert.equal(m.verdictTone(r), "denied");
    assert.equal(m.requestSummary(r), "401 bad_signature at authn · 0.8 ms");
  });

  test("a service's refusal (409) is refused, not denied; a 503 failed; no answer yet pending", () => {
    assert.equal(m.verdictTone({ status: 409, deniedAt: null }), "refused");
    assert.equal(m.verdictTone({ status: 503, deniedAt: null }), "failed");
    assert.equal(m.verdictTone({ status: null }), "pending");
    assert.equal(m.verdictTone({ status: 101, deniedAt: null }), "ok");
  });

  test("only the newest requests are kept, and other kinds are ignored", () => {
    const events = Array.from({ length: 20 }, (_, i) => ev("gateway.route", { trace: `t${i}`, ts: i }));
    const requests = m.applyEvents(new Map(), [...events, ev("lb.route", { trace: "x" })], 5);
    assert.deepEqual([...requests.keys()], ["t15", "t16", "t17", "t18", "t19"]);
  });
});

describe("money, time and refusals in words", () => {
  test("cents with separators; countdowns; a suggested bid a little over the highest", () => {
    assert.equal(m.formatCents(123456), "1,234.56");
    assert.equal(m.formatCents(5), "0.05");
    assert.equal(m.countdown(65_000), "1:05");
    assert.equal(m.countdown(3_723_000), "1:02:03");
    assert.equal(m.countdown(0), "ended");
    assert.equal(m.suggestedBid({ highest_cents: 0, start_cents: 4000 }), "40.00");
    assert.equal(m.suggestedBid({ highest_cents: 4000, start_cents: 4000 }), "40.80");
    assert.equal(m.tokenLeft(10_000, 4_000), "expires in 0:06");
    assert.equal(m.tokenLeft(1, 2), "expired");
  });

  test("a 401 names its error and the challenge; a 403 the scope", () => {
    const h = headers({ "WWW-Authenticate": 'Bearer realm="archviz", error="invalid_token"' });
    const words = m.denialWords(401, { error: "expired", message: "the token expired" }, h);
    assert.equal(words.title, "401 Unauthorized: error=expired");
    assert.match(words.detail, /the token expired · Bearer realm/);
    assert.equal(m.denialWords(403, { error: "insufficient_scope" }, headers({})).title, "403 Forbidden: insufficient_scope");
  });

  test("a 409 says the current highest; a 429 its wait and the quota left", () => {
    const conflict = m.denialWords(409, { error: "too_low", message: "not higher", highest: "45.00", highest_bidder: "bob" }, headers({}));
    assert.equal(conflict.detail, "not higher Highest now: 45.00 by bob.");
    const said = m.denialWords(409, { message: "40.00 is not higher than 45.00 by bob", highest: "45.00" }, headers({}));
    assert.equal(said.detail, "40.00 is not higher than 45.00 by bob");
    const grpc = m.denialWords(409, { error: "aborted", service: "bidding", message: "m" }, headers({}));
    assert.equal(grpc.title, "409 Conflict (the bidding service's gRPC ABORTED)");
    const h = headers({ "Retry-After": "2", RateLimit: '"bid";r=0;t=2', "RateLimit-Policy": '"bid";q=6;w=3' });
    const limited = m.denialWords(429, { error: "rate_limited", message: "too many bid requests" }, h);
    assert.equal(limited.detail, "too many bid requests · Retry-After: 2 s · 0 left, quota 6 per 3 s");
  });

  test("close codes 4010-4012 ask to sign in again; others reconnect", () => {
    assert.equal(m.closeWords(4011, "revoked").signInAgain, true);
    assert.equal(m.closeWords(4010, "").text, "Your token expired. (close 4010)");
    assert.equal(m.closeWords(1006, "").retry, true);
  });
});

describe("an auction followed by seq", () => {
  const state = { id: "lamp", seq: 3, highest_cents: 4000, highest_bidder: "ada", start_cents: 4000, ends_at_ms: 9, closed: false, winner: "" };
  const update = (seq, fields = {}) => ({ type: "bid", auction: "lamp", seq, amount_cents: 4000 + seq * 100, bidder: `b${seq}`, ends_at_ms: 9, ts: seq, trace: "", ...fields });

  test("welcome, then updates in order; one seen twice is applied once", () => {
    let w = m.applyAuctionFrame(m.emptyWatch(), { type: "welcome", replica: "gateway-2", auction: state, after: null });
    assert.equal(w.seq, 3);
    assert.equal(w.replica, "gateway-2");
    w = m.applyAuctionFrame(w, { type: "update", update: update(4), replayed: false });
    w = m.applyAuctionFrame(w, { type: "update", update: update(4), replayed: false });
    assert.equal(w.history.length, 1);
    assert.equal(w.auction.highest_cents, 4400);
    assert.equal(w.auction.highest_bidder, "b4");
  });

  test("a reconnect after seq 4 keeps the history and takes the missed updates as replayed", () => {
    let w = m.applyAuctionFrame(m.emptyWatch(), { type: "welcome", auction: state, after: null });
    w = m.applyUpdate(w, update(4));
    const now = { ...state, seq: 6, highest_cents: 4600, highest_bidder: "b6" };
    w = m.applyAuctionFrame(w, { type: "welcome", replica: "gateway-1", auction: now, after: 4 });
    assert.equal(w.seq, 4);
    w = m.applyAuctionFrame(w, { type: "update", update: update(5), replayed: true });
    w = m.applyAuctionFrame(w, { type: "update", update: update(6), replayed: true });
    assert.deepEqual(w.history.map((u) => u.seq), [6, 5, 4]);
    assert.equal(w.auction.highest_bidder, "b6");
  });

  test("closed names the winner; resync starts again from the state sent", () => {
    let w = m.applyAuctionFrame(m.emptyWatch(), { type: "welcome", auction: state, after: null });
    w = m.applyUpdate(w, update(4, { type: "closed", bidder: "ada", amount_cents: 4000 }));
    assert.equal(w.auction.closed, true);
    assert.equal(w.auction.winner, "ada");
    w = m.applyAuctionFrame(w, { type: "resync", reason: "trimmed", auction: { ...state, seq: 40 } });
    assert.equal(w.seq, 40);
    assert.deepEqual(w.history, []);
    assert.equal(w.resyncs, 1);
  });

  test("the history merges the socket's updates with the state's list, each once", () => {
    const u = (seq) => ({ seq, type: "bid" });
    assert.deepEqual(m.mergedHistory([u(5), u(4)], [u(4), u(3), u(1)], 3).map((x) => x.seq), [5, 4, 3]);
    assert.deepEqual(m.mergedHistory([], undefined), []);
  });

  test("the socket URL goes to the gateway's listener, with after= when resuming", () => {
    assert.equal(m.auctionSocketUrl("http://127.0.0.1:8200", "lamp", 0), "ws://127.0.0.1:8200/ws/auctions/lamp/");
    assert.equal(m.auctionSocketUrl("https://h:8200/", "lamp", 7), "wss://h:8200/ws/auctions/lamp/?after=7");
  });
});

describe("the side by side and the scenarios in words", () => {
  test("answers by status, the most common first", () => {
    assert.equal(m.countsCell({ 429: 11, 200: 19 }), "200 OK ×19 · 429 ×11");
    assert.equal(m.countsCell({ 401: 1 }), "401");
    assert.equal(m.countsCell({}), "—");
  });

  test("what reached the catalog, or that it does not count", () => {
    assert.equal(m.reachedWords(20, { valid: 20 }, true), "20 requests (valid ×20)");
    assert.equal(m.reachedWords(1, {}, true), "1 request");
    assert.equal(m.reachedWords(0, {}, false), "not counted");
  });

  test("keys by id and state, never more; the replica to kill first", () => {
    const keys = [{ kid: "abcdefghijk", state: "current" }, { kid: "zyxwvutsrq", state: "retiring", retire_at: 60 }];
    assert.equal(m.keysWords(keys, (ms) => `t${ms}`), "abcdefgh… current · zyxwvuts… retiring until t60000");
    const replicas = [{ id: "gateway-1", status: "up", websockets: 1 }, { id: "gateway-2", status: "up", websockets: 5 }];
    assert.equal(m.defaultReplica(replicas, "gateway-1"), "gateway-1");
    assert.equal(m.defaultReplica(replicas, ""), "gateway-2");
    assert.equal(m.defaultReplica([{ id: "gateway-1", status: "down", websockets: 0 }], ""), "gateway-1");
  });
});
