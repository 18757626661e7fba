// The queue page's picture: the producers, the queue (backlog, pending, dead letters), one
// card per consumer, and job events travelling between them as dots. Data goes in with
// textContent only.
import { el, fieldsOf, text } from "../js/lib/dom.js";

const MAX_DOTS = 80; // dots in flight at once; more are counted as not drawn
const DOT_MS = 700;
const BAR_FULL_AT = 200; // the backlog bar is full at this many jobs (the number says the rest)

/** Where each job event's dot goes, by kind: [from, to, colour class]; null: not drawn. */
export function dotRoute(event) {
  const consumer = `consumer:${event.kind === "queue.ack" || event.kind === "queue.dead" ? event.src : event.dst}`;
  switch (event.kind) {
    case "queue.enqueue":
      return ["producers", "queue", "dot-enqueue"];
    case "queue.deliver":
      return ["queue", consumer, "dot-deliver"];
    case "queue.redeliver":
      return ["queue", consumer, "dot-redeliver"];
    case "queue.ack":
      return [consumer, "queue", "dot-ack"];
    case "queue.dead":
      return [`consumer:${event.detail?.consumer || event.src}`, "dead", "dot-dead"];
    default:
      return null;
  }
}

/** A number for a box: thousands separated, "—" when unknown. */
export function count(n) {
  return Number.isFinite(n) ? Math.round(n).toLocaleString("en") : "—";
}

class ConsumerCard {
  constructor({ id, instructor, onAction }) {
    this.id = id;
    const buttons = instructor
      ? el(
          "div",
          { class: "q-card-buttons" },
          ...["kill", "stop", "restart"].map((a) => el("button", { type: "button", "data-action": a }, a)),
          el("button", { type: "button", "data-action": "remove", title: "Delete this consumer" }, "remove"),
        )
      : "";
    this.root = el(
      "div",
      { class: "q-card", "data-consumer": id, "data-state": "starting" },
      el("h3", { class: "q-card-title" }, id, " ", el("span", { class: "state-word", "data-field": "state" }, "—")),
      el("p", { class: "q-card-detail", "data-field": "detail" }),
      el(
        "dl",
        { class: "q-facts" },
        el("dt", {}, "pending"),
        el("dd", { class: "mono", "data-field": "pending" }, "—"),
        el("dt", {}, "done"),
        el("dd", { class: "mono", "data-field": "processed" }, "—"),
        el("dt", {}, "jobs/s"),
        el("dd", { class: "mono", "data-field": "rate" }, "—"),
        el("dt", {}, "own cost"),
        el("dd", { class: "mono", "data-field": "work" }, "—"),
        el("dt", {}, "pid"),
        el("dd", { class: "mono", "data-field": "pid" }, "—"),
      ),
      buttons,
    );
    this.fields = fieldsOf(this.root);
    this.root.addEventListener("click", (e) => {
      const action = e.target.closest("button[data-action]")?.getAttribute("data-action");
      if (action) onAction(action, id);
    });
  }

  update(c) {
    this.root.setAttribute("data-state", c.status);
    this.root.classList.toggle("busy", c.busy);
    text(this.fields.state, c.busy ? "working" : c.status);
    text(this.fields.detail, c.redis_ok ? c.detail : "Redis unreachable: waiting to resume");
    text(this.fields.pending, count(c.pending));
    text(this.fields.processed, count(c.processed_total));
    text(this.fields.rate, Number.isFinite(c.jobs_per_s) ? c.jobs_per_s.toFixed(1) : "—");
    text(this.fields.work, `${count(c.work_ms)} ms`);
    text(this.fields.pid, c.pid ? String(c.pid) : "—");
  }
}

export class QueueView {
  constructor({ frame, producers, queue, consumerList, deadList, instructor, onConsumerAction, onSkipped }) {
    Object.assign(this, { frame, producers, queue, consumerList, deadList, instructor, onConsumerAction, onSkipped });
    this.cards = new Map();
    this.producerFields = fieldsOf(producers);
    this.queueFields = fieldsOf(queue);
    this.backlog = queue.querySelector("#q-backlog");
    this.barFill = queue.querySelector("#q-bar-fill");
    this.dots = 0;
    this.skipped = 0;
  }

  update(state, extras) {
    this.renderProducers(state.traffic, extras);
    this.renderQueue(state.queue, extras);
    this.renderConsumers(state.queue ? state.queue.consumers : []);
  }

  renderProducers(traffic, extras) {
    const f = this.producerFields;
    const feeding = traffic && traffic.queue !== "off" && traffic.rate > 0;
    this.producers.setAttribute("data-state", !traffic ? "down" : feeding ? "sending" : "idle");
    text(f.state, !traffic ? "generator not running" : feeding ? "sending jobs" : "not sending jobs");
    text(f.rate, traffic ? `${traffic.rate}/s` : "—");
    text(f.work, traffic ? `${traffic.work_ms} ms` : "—");
    text(f.mode, traffic ? { off: "LB only", also: "LB and queue", only: "queue only" }[traffic.queue] || "—" : "—");
    text(f.in, extras.inRate === null ? "—" : `${extras.inRate.toFixed(1)} jobs/s`);
  }

  renderQueue(q, extras) {
    const f = this.queueFields;
    text(this.backlog, q ? count(q.backlog) : "—");
    this.barFill.style.width = `${q ? Math.min(100, (q.backlog / BAR_FULL_AT) * 100) : 0}%`;
    this.queue.classList.toggle("growing", Boolean(extras.growing));
    text(f.pending, q ? count(q.pending) : "—");
    text(f.length, q ? count(q.stream_length) : "—");
    text(f.enqueued, q ? count(q.enqueued_total) : "—");
    text(f.acked, q ? count(q.acked_total) : "—");
    text(f.redelivered, q ? count(q.redelivered_total) : "—");
    text(f.duplicates, q ? count(q.duplicates_total) : "—");
    text(f.dead, q ? count(q.dead_total) : "—");
    text(f.trimmed, q ? count(q.trimmed_total) : "—");
    text(f.refused, q ? count(q.refused_total) : "—");
    text(f.drain, extras.drainRate ? `${extras.drainRate.toFixed(1)} jobs/s` : "—");
    this.renderDead(q ? q.dead_recent : []);
  }

  renderDead(letters) {
    const key = letters.map((d) => d.stream_id).join(",");
    if (key === this.deadKey) return;
    this.deadKey = key;
    this.deadList.replaceChildren(
      ...letters.map((d) =>
        el("li", { "data-stream-id": d.stream_id }, el("span", { class: "mono" }, d.stream_id), " ", d.reason),
      ),
    );
  }

  renderConsumers(consumers) {
    const seen = new Set();
    for (const c of consumers) {
      seen.add(c.id);
      let card = this.cards.get(c.id);
      if (!card) {
        card = new ConsumerCard({ id: c.id, instructor: this.instructor, onAction: this.onConsumerAction });
        this.cards.set(c.id, card);
        this.consumerList.append(card.root);
      }
      card.update(c);
    }
    for (const [id, card] of this.cards) {
      if (!seen.has(id)) {
        card.root.remove();
        this.cards.delete(id);
      }
    }
  }

  /** Draw job events as dots; too many at once, or a hidden tab, and they are counted instead. */
  play(events) {
    for (const event of events) {
      const route = dotRoute(event);
      if (!route) continue;
      const from = this.anchor(route[0]);
      const to = this.anchor(route[1]);
      if (!from || !to || document.hidden || this.dots >= MAX_DOTS) {
        this.skipped += 1;
        this.onSkipped(this.skipped);
        continue;
      }
      this.fly(from, to, route[2]);
    }
  }

  anchor(name) {
    if (name === "producers") return this.producers;
    if (name === "queue") return this.queue;
    if (name === "dead") return this.queue.querySelector("#q-dead");
    return this.cards.get(name.slice("consumer:".length))?.root || null;
  }

  fly(from, to, tone) {
    const frame = this.frame.getBoundingClientRect();
    const centre = (box) => {
      const r = box.getBoundingClientRect();
      return [r.left + r.width / 2 - frame.left, r.top + r.height / 2 - frame.top];
    };
    const [x0, y0] = centre(from);
    const [x1, y1] = centre(to);
    const dot = el("span", { class: `q-dot ${tone}`, "aria-hidden": "true" });
    this.frame.append(dot);
    this.dots += 1;
    const animation = dot.animate(
      [{ transform: `translate(${x0}px, ${y0}px)` }, { transform: `translate(${x1}px, ${y1}px)` }],
      { duration: DOT_MS, easing: "ease-in-out" },
    );
    animation.onfinish = () => {
      dot.remove();
      this.dots -= 1;
    };
  }
}
