// The gateway page's picture: the LB, a card per gateway replica (its sockets, its auction
// subscriptions with their reference counts, its newest requests drawn stage by stage) and a
// card per service replica, flashed when a request reaches it. Data in with textContent only.
import { el, fieldsOf, text } from "../js/lib/dom.js";
import { STAGES, STAGE_WORDS, applyEvents, requestSummary, verdictTone } from "./model.js";

const REQUESTS_SHOWN = 5;
const FLASH_MS = 700;
const SERVICE_WORDS = { auth: "auth service · HTTP", catalog: "catalog · HTTP", bidding: "bidding · gRPC" };

const countsText = (counts) =>
  Object.entries(counts || {})
    .filter(([, v]) => v > 0)
    .map(([k, v]) => `${k} ×${v}`)
    .join(" · ") || "none";

export class GatewayPicture {
  constructor({ lb, replicas, services, isMine }) {
    this.lb = fieldsOf(lb);
    this.replicaList = replicas;
    this.serviceList = services;
    this.isMine = isMine;
    this.requests = new Map(); // trace -> request, the newest last
    this.replicaCards = new Map();
    this.serviceCards = new Map();
  }

  update(gateway) {
    text(this.lb.port, gateway.entry_port ? `:${gateway.entry_port}` : "(no gateway listener)");
    this.sync(this.replicaList, this.replicaCards, gateway.replicas, (r) => this.replicaCard(r));
    this.sync(this.serviceList, this.serviceCards, gateway.services, (s) => this.serviceCard(s));
    for (const replica of gateway.replicas) this.fillReplica(this.replicaCards.get(replica.id), replica);
    for (const service of gateway.services) this.fillService(this.serviceCards.get(service.id), service);
  }

  /** Keep one card per id, in the state's order. */
  sync(list, cards, items, make) {
    const ids = new Set(items.map((i) => i.id));
    for (const [id, card] of cards) {
      if (!ids.has(id)) {
        card.root.remove();
        cards.delete(id);
      }
    }
    for (const item of items) {
      if (!cards.has(item.id)) cards.set(item.id, make(item));
      list.append(cards.get(item.id).root); // moves it into order
    }
  }

  replicaCard(replica) {
    const root = el("article", { class: "gw-card gw-replica", "data-id": replica.id },
      el("h3", { class: "gw-card-title" }, el("span", { class: "mono" }, replica.id), " ",
        el("span", { class: "gw-chip", "data-field": "status" })),
      el("p", { class: "gw-card-line" }, "WebSockets ", el("strong", { class: "mono", "data-field": "websockets" })),
      el("p", { class: "gw-card-line" }, "subscribed to ", el("span", { class: "mono", "data-field": "subs" })),
      el("p", { class: "gw-card-line" }, "denied ", el("span", { class: "mono", "data-field": "denied" })),
      el("ol", { class: "gw-requests", "aria-label": `${replica.id}'s newest requests` }));
    return { root, fields: fieldsOf(root), list: root.querySelector(".gw-requests") };
  }

  fillReplica(card, replica) {
    card.root.setAttribute("data-state", replica.status);
    text(card.fields.status, replica.status === "up" ? replica.health : replica.status);
    text(card.fields.websockets, String(replica.websockets));
    text(card.fields.subs, Object.keys(replica.subscriptions).length
      ? Object.entries(replica.subscriptions).map(([a, n]) => `${a} (${n} watcher${n === 1 ? "" : "s"})`).join(", ")
      : "no auction");
    text(card.fields.denied, countsText(replica.denied));
    card.root.title = replica.detail || `pid ${replica.pid ?? "—"} · port ${replica.port ?? "—"} · retries ${replica.retries}`;
  }

  serviceCard(service) {
    const root = el("article", { class: "gw-card gw-service", "data-id": service.id, "data-kind": service.kind },
      el("h3", { class: "gw-card-title" }, el("span", { class: "mono" }, service.id), " ",
        el("span", { class: "gw-chip", "data-field": "status" })),
      el("p", { class: "gw-card-line gw-muted" }, SERVICE_WORDS[service.kind] || service.kind),
      el("p", { class: "gw-card-line" }, el("span", { class: "mono", "data-field": "counts" })));
    return { root, fields: fieldsOf(root) };
  }

  fillService(card, service) {
    card.root.setAttribute("data-state", service.status);
    const checked = service.status === "up" && service.health !== "unknown";
    text(card.fields.status, checked ? service.health : service.status);
    const some = (counts) => Object.values(counts).some((v) => v > 0);
    const reached = some(service.reached_by_token) ? ` · reached it, by token: ${countsText(service.reached_by_token)}` : "";
    const counts = some(service.counts) ? ` · ${countsText(service.counts)}` : "";
    text(card.fields.counts, `${service.rps.toFixed(1)} req/s${counts}${reached}`);
  }

  /** Fold live trace events into the requests and redraw the replicas' lanes. */
  play(events) {
    const before = new Map([...this.requests].map(([k, v]) => [k, v.service]));
    applyEvents(this.requests, events, 40);
    for (const [trace, request] of this.requests) {
      if (request.service && before.get(trace) !== request.service) this.flash(request.service, verdictTone(request));
    }
    this.drawLanes();
  }

  flash(serviceId, tone) {
    const card = this.serviceCards.get(serviceId);
    if (!card) return;
    card.root.setAttribute("data-flash", tone === "pending" ? "ok" : tone);
    clearTimeout(card.flashTimer);
    card.flashTimer = setTimeout(() => card.root.removeAttribute("data-flash"), FLASH_MS);
  }

  drawLanes() {
    for (const [id, card] of this.replicaCards) {
      const mine = [...this.requests.values()].filter((r) => r.replica === id).slice(-REQUESTS_SHOWN).reverse();
      card.list.replaceChildren(...mine.map((r) => this.requestRow(r)));
    }
  }

  requestRow(request) {
    const stages = STAGES.map((stage) => {
      const state = request.deniedAt === stage ? "failed" : request.stages[stage] || "skipped";
      return el("span", { class: "gw-stage", "data-stage": stage, "data-state": state, title: stage }, STAGE_WORDS[stage]);
    });
    const attrs = { class: "gw-request", "data-tone": verdictTone(request), "data-trace": request.trace };
    if (this.isMine(request.trace)) attrs["data-mine"] = "1";
    return el("li", attrs,
      el("span", { class: "gw-route mono" }, request.route || "?"),
      el("span", { class: "gw-stages" }, ...stages),
      el("span", { class: "gw-outcome mono" }, requestSummary(request)));
  }
}
