// Trace animation: every trace event becomes a dot travelling from its src box to its dst box.
// Hops of one trace play one after another in ts order; different traces play side by side.
// The picture never lies about what it leaves out: every hop it does not draw is counted,
// by reason, and reported through onSkipped.
import { svgElement } from "./svg.js";

export const SKIP_REASONS = Object.freeze({
  cap: "too many dots on screen at once",
  late: "waited too long (tab hidden or a burst of events)",
  nowhere: "its source or destination has no box on screen",
});

const DEFAULTS = {
  layer: null, // the SVG <g> the dots are drawn in
  pathBetween: () => null, // (src, dst) -> {points: [{x, y}, ...], same} | null
  onArrive: () => {}, // (event) when a dot reaches its destination
  onSkipped: () => {}, // (counts by reason, total)
  isHighlighted: () => false, // (event) draws the dot larger, labelled with its kind
  hopMs: 350, // a hop on a long, routed wire takes up to twice as long
  // Events of one trace come from several processes, each publishing in 50 ms batches, so
  // they can arrive out of order: hold each for a moment, then play the trace in ts order.
  holdMs: 250,
  maxDots: 40,
  maxAgeMs: 3000,
  maxQueued: 1000,
  now: () => performance.now(),
  isHidden: () => document.hidden,
};

/** Total length of a polyline. */
export function polylineLength(points) {
  let length = 0;
  for (let i = 1; i < points.length; i += 1) {
    length += Math.hypot(points[i].x - points[i - 1].x, points[i].y - points[i - 1].y);
  }
  return length;
}

/** The point a fraction t (0..1) of the way along a polyline. */
export function pointAlong(points, t) {
  const total = polylineLength(points);
  let remaining = Math.max(0, Math.min(1, t)) * total;
  for (let i = 1; i < points.length; i += 1) {
    const a = points[i - 1];
    const b = points[i];
    const segment = Math.hypot(b.x - a.x, b.y - a.y);
    if (remaining <= segment && segment > 0) {
      const f = remaining / segment;
      return { x: a.x + (b.x - a.x) * f, y: a.y + (b.y - a.y) * f };
    }
    remaining -= segment;
  }
  return points[points.length - 1];
}

const easeInOut = (t) => (t < 0.5 ? 2 * t * t : 1 - (-2 * t + 2) ** 2 / 2);

/** One moving dot on screen. */
export class Dot {
  constructor({ layer, ok, highlighted, label }) {
    this.group = svgElement("g", { class: `dot ${ok ? "ok" : "failed"}${highlighted ? " mine" : ""}` }, layer);
    svgElement("circle", { r: highlighted ? 8 : 6 }, this.group);
    if (highlighted) {
      const text = svgElement("text", { x: 11, y: -9, class: "dot-label" }, this.group);
      text.textContent = label;
    }
  }

  moveTo(x, y) {
    this.group.setAttribute("transform", `translate(${x.toFixed(1)} ${y.toFixed(1)})`);
  }

  remove() {
    this.group.remove();
  }
}

export class TraceAnimator {
  constructor(options) {
    this.options = { ...DEFAULTS, ...options };
    this.traces = new Map(); // trace id -> {pending: [{event, arrivedAt}], hop: active hop or null}
    this.active = 0;
    this.queued = 0;
    this.skipped = { cap: 0, late: 0, nowhere: 0 };
    this.frameRequested = false;
    this.tick = this.tick.bind(this);
  }

  get skippedTotal() {
    return this.skipped.cap + this.skipped.late + this.skipped.nowhere;
  }

  /** Queue live events for animation (never the welcome frame's replay). */
  play(events) {
    const arrivedAt = this.options.now();
    const sorted = [...events].sort((a, b) => a.ts - b.ts);
    for (const event of sorted) {
      if (this.options.isHidden() || this.queued >= this.options.maxQueued) {
        this.skip("late");
        continue;
      }
      let entry = this.traces.get(event.trace);
      if (!entry) {
        entry = { pending: [], hop: null };
        this.traces.set(event.trace, entry);
      }
      entry.pending.push({ event, arrivedAt });
      entry.pending.sort((a, b) => a.event.ts - b.event.ts);
      this.queued += 1;
    }
    this.requestFrame();
  }

  skip(reason) {
    this.skipped[reason] += 1;
    this.options.onSkipped({ ...this.skipped }, this.skippedTotal);
  }

  requestFrame() {
    if (!this.frameRequested && this.traces.size > 0) {
      this.frameRequested = true;
      requestAnimationFrame(this.tick);
    }
  }

  tick() {
    this.frameRequested = false;
    const now = this.options.now();
    for (const [trace, entry] of this.traces) {
      if (entry.hop && this.advance(entry.hop, now)) {
        entry.hop = null;
      }
      if (!entry.hop) {
        entry.hop = this.startNextHop(entry, now);
      }
      if (!entry.hop && entry.pending.length === 0) {
        this.traces.delete(trace);
      }
    }
    this.requestFrame();
  }

  /** Take queued events of one trace until one can be drawn; skip (and count) the rest. */
  startNextHop(entry, now) {
    while (entry.pending.length > 0) {
      if (now - entry.pending[0].arrivedAt < this.options.holdMs) {
        return null;
      }
      const { event, arrivedAt } = entry.pending.shift();
      this.queued -= 1;
      if (now - arrivedAt > this.options.maxAgeMs) {
        this.skip("late");
        continue;
      }
      const path = this.options.pathBetween(event.src, event.dst);
      if (!path) {
        this.skip("nowhere");
        continue;
      }
      if (this.active >= this.options.maxDots) {
        this.skip("cap");
        continue;
      }
      const highlighted = this.options.isHighlighted(event);
      const dot = new Dot({ layer: this.options.layer, ok: event.ok, highlighted, label: event.kind });
      dot.moveTo(path.points[0].x, path.points[0].y);
      this.active += 1;
      const stretch = Math.min(2, Math.max(1, polylineLength(path.points) / 500));
      return { event, path, dot, startedAt: now, durationMs: this.options.hopMs * stretch };
    }
    return null;
  }

  /** Move a hop's dot; returns true when it has arrived (and is removed). */
  advance(hop, now) {
    const t = Math.min(1, (now - hop.startedAt) / hop.durationMs);
    const { points, same } = hop.path;
    if (same) {
      // A hop within one component: the dot circles above its box's centre once.
      const angle = t * 2 * Math.PI;
      hop.dot.moveTo(points[0].x + 24 * Math.sin(angle), points[0].y - (24 * (1 - Math.cos(angle))) / 2);
    } else {
      const p = pointAlong(points, easeInOut(t));
      hop.dot.moveTo(p.x, p.y);
    }
    if (t < 1) {
      return false;
    }
    hop.dot.remove();
    this.active -= 1;
    this.options.onArrive(hop.event);
    return true;
  }

  /** Drop everything queued or in flight (e.g. after a reconnect); counts nothing. */
  clear() {
    for (const entry of this.traces.values()) {
      if (entry.hop) {
        entry.hop.dot.remove();
      }
    }
    this.traces.clear();
    this.active = 0;
    this.queued = 0;
  }
}
