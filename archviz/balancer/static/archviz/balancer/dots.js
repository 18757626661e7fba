// The LB page's request dots: one per routed request, replayed at its own time, client → LB → node.
import { pointAlong } from "../js/lib/animator.js";
import { setAttributes, svgElement } from "../js/lib/svg.js";

export const OUTCOMES = Object.freeze(["ok", "queued", "rejected", "failed"]);

export const DOT_SKIP_REASONS = Object.freeze({
  cap: "too many dots on screen at once",
  late: "arrived too late to draw (tab hidden or a burst of requests)",
  nowhere: "its node has no box on screen",
});

/** When a routed request was answered (its event is published then), in server unix ms. */
export function answeredAt(event) {
  return event.ts + (Number.isFinite(event.ms) ? event.ms : 0);
}

/** The outcome of a routed request, from its trace event. */
export function outcomeOf(event) {
  const outcome = event.detail?.outcome;
  if (OUTCOMES.includes(outcome)) return outcome;
  if (event.kind === "lb.reject") return "rejected";
  return event.ok ? "ok" : "failed";
}

const DOT_DEFAULTS = {
  layer: null,
  routeFor: () => null, // (event) -> [{x, y}, ...] | null, asked again every frame (boxes move)
  onArrive: () => {},
  onSkipped: () => {},
  durationMs: 700,
  minDelayMs: 150, // replay delay: events come in 50 ms batches, published when a request is answered
  maxDelayMs: 3000,
  maxLateMs: 500, // a dot that cannot start within this of its time is skipped
  maxDots: 100,
  maxQueued: 600,
  now: () => performance.now(),
  isHidden: () => document.hidden,
};

/** Request dots: one per routed request, client → LB → node, coloured by outcome. */
export class RequestDots {
  constructor(options) {
    this.options = { ...DOT_DEFAULTS, ...options };
    this.queue = []; // {event, startAt}, by startAt
    this.active = [];
    this.skipped = { cap: 0, late: 0, nowhere: 0 };
    this.delayMs = this.options.minDelayMs;
    this.frameRequested = false;
    this.tick = this.tick.bind(this);
  }

  get skippedTotal() {
    return this.skipped.cap + this.skipped.late + this.skipped.nowhere;
  }

  /**
   * Queue events; serverOffsetMs (server clock minus ours) places each at its own time. Events
   * reach us late by a varying amount (batching, a busy lab), so they are replayed that much
   * later, at their own pace: a burst that arrives at once is drawn spread out as it happened.
   */
  play(events, serverOffsetMs) {
    const { now, isHidden, minDelayMs, maxDelayMs, maxLateMs, maxQueued } = this.options;
    const perfNow = now();
    const wallNow = Date.now();
    const localTime = (event) => answeredAt(event) - serverOffsetMs;
    const age = Math.max(...events.map((e) => wallNow - localTime(e)));
    const eased = age > this.delayMs ? age + 50 : this.delayMs * 0.95 + age * 0.05;
    this.delayMs = Math.min(maxDelayMs, Math.max(minDelayMs, eased));
    for (const event of events) {
      const startAt = perfNow + (localTime(event) + this.delayMs - wallNow);
      if (isHidden() || startAt < perfNow - maxLateMs) {
        this.skip("late");
      } else if (this.queue.length >= maxQueued) {
        this.skip("cap");
      } else {
        this.queue.push({ event, startAt });
      }
    }
    this.queue.sort((a, b) => a.startAt - b.startAt);
    this.requestFrame();
  }

  skip(reason) {
    this.skipped[reason] += 1;
    this.options.onSkipped({ ...this.skipped }, this.skippedTotal);
  }

  requestFrame() {
    if (!this.frameRequested && (this.queue.length > 0 || this.active.length > 0)) {
      this.frameRequested = true;
      requestAnimationFrame(this.tick);
    }
  }

  tick() {
    this.frameRequested = false;
    const now = this.options.now();
    while (this.queue.length > 0 && this.queue[0].startAt <= now) {
      this.start(this.queue.shift(), now);
    }
    this.active = this.active.filter((dot) => this.advance(dot, now));
    this.requestFrame();
  }

  start({ event, startAt }, now) {
    if (now - startAt > this.options.maxLateMs || this.options.isHidden()) {
      this.skip("late");
    } else if (!this.options.routeFor(event)) {
      this.skip("nowhere");
    } else if (this.active.length >= this.options.maxDots) {
      this.skip("cap");
    } else {
      const outcome = outcomeOf(event);
      const circle = svgElement("circle", { r: 5, class: `lb-dot outcome-${outcome}` }, this.options.layer);
      this.active.push({ event, outcome, circle, startedAt: now });
    }
  }

  /** Move a dot; false once it has arrived (and is gone). */
  advance(dot, now) {
    const points = this.options.routeFor(dot.event);
    const t = Math.min(1, (now - dot.startedAt) / this.options.durationMs);
    if (!points || t >= 1) {
      dot.circle.remove();
      if (points) this.options.onArrive(dot.event, dot.outcome);
      return false;
    }
    const p = pointAlong(points, t < 0.5 ? 2 * t * t : 1 - (-2 * t + 2) ** 2 / 2);
    setAttributes(dot.circle, { cx: p.x.toFixed(1), cy: p.y.toFixed(1) });
    return true;
  }

  /** Drop every dot, queued or moving (e.g. after a reconnect); counts nothing. */
  clear() {
    for (const dot of this.active) dot.circle.remove();
    this.active = [];
    this.queue = [];
  }
}
