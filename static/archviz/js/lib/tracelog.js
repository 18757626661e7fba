// The trace log: one row per trace event, newest at the top, capped.

const pad = (n, width = 2) => String(n).padStart(width, "0");

/** Local wall-clock time of a unix-ms timestamp as HH:MM:SS.mmm. */
export function formatClock(tsMs) {
  const d = new Date(tsMs);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

export function formatMs(ms) {
  if (ms === null || ms === undefined) {
    return "";
  }
  return ms < 10 ? `${ms.toFixed(2)} ms` : `${ms.toFixed(1)} ms`;
}

/** A component's coming and going: the events panels list these for their page's own components. */
export const LIFECYCLE_KINDS = new Set([
  "node.start",
  "node.up",
  "node.down",
  "node.heartbeat_lost",
  "node.failed",
  "node.stop",
  "node.update",
  "trace.dropped",
]);

/**
 * The process a lifecycle event is about: a component registers itself (node.up from it to
 * Redis, trace.dropped from its emitter); the supervisor reports on it (node.down to it).
 */
export function componentOf(event) {
  return event.kind === "node.up" || event.kind === "trace.dropped" ? event.src : event.dst;
}

const DETAIL_KEYS = ["reason", "action", "error", "message", "channel", "path", "status"];

/**
 * A short, plain-text summary of an event's detail object. The fields the server cut to their
 * limit (detail.cut, see archviz/trace/events.py) are named first, so the summary's own
 * truncation never hides that.
 */
export function shortDetail(detail, maxChars = 90) {
  if (!detail || typeof detail !== "object") {
    return "";
  }
  const cut = Array.isArray(detail.cut) ? [`(cut: ${detail.cut.join(", ")})`] : [];
  const rest = Object.keys(detail).filter((k) => !DETAIL_KEYS.includes(k) && k !== "cut");
  const keys = [...DETAIL_KEYS.filter((k) => k in detail), ...rest];
  const parts = cut.concat(keys.map((key) => {
    const value = detail[key];
    const text = typeof value === "string" ? value : JSON.stringify(value);
    return key === "reason" || key === "action" ? text : `${key}=${text}`;
  }));
  const joined = parts.join(" · ");
  return joined.length <= maxChars ? joined : `${joined.slice(0, maxChars - 1)}…`;
}

function cell(row, className, text) {
  const span = document.createElement("span");
  span.className = className;
  span.textContent = text;
  row.appendChild(span);
  return span;
}

const DEFAULTS = {
  list: null, // the <ol>
  maxRows: 200,
  isMine: () => false, // (event) -> highlight the row as the user's own
  describeKind: () => "", // (kind) -> tooltip text
};

export class TraceLog {
  constructor(options) {
    this.options = { ...DEFAULTS, ...options };
    this.list = this.options.list;
    this.ids = new Set();
    this.total = 0;
  }

  /** Add events, keeping the list in ts order, newest on top; skips ids already shown. */
  add(events) {
    const fresh = events.filter((e) => !this.ids.has(e.id)).sort((a, b) => a.ts - b.ts);
    if (fresh.length === 0) {
      return;
    }
    const scrollBox = this.list.parentElement;
    const keepView = scrollBox.scrollTop > 0;
    const heightBefore = scrollBox.scrollHeight;
    for (const event of fresh) {
      this.ids.add(event.id);
      this.insert(this.row(event), event.ts);
    }
    this.total += fresh.length;
    this.trim();
    if (keepView) {
      // The reader scrolled down to read: keep the rows they were reading in place.
      scrollBox.scrollTop += scrollBox.scrollHeight - heightBefore;
    }
  }

  /** Processes publish in batches, so events can arrive a little out of order: sort them in. */
  insert(li, ts) {
    let after = this.list.firstElementChild;
    while (after && Number(after.getAttribute("data-ts")) > ts) {
      after = after.nextElementSibling;
    }
    this.list.insertBefore(li, after);
  }

  row(event) {
    const li = document.createElement("li");
    li.setAttribute("data-id", event.id);
    li.setAttribute("data-ts", String(event.ts));
    li.setAttribute("data-kind", event.kind);
    li.setAttribute("data-src", event.src);
    li.setAttribute("data-dst", event.dst);
    li.setAttribute("data-trace", event.trace);
    li.setAttribute("data-ok", event.ok ? "true" : "false");
    li.classList.toggle("failed", !event.ok);
    li.classList.toggle("mine", this.options.isMine(event));
    cell(li, "time mono", formatClock(event.ts));
    const kind = cell(li, "kind mono", event.kind);
    kind.title = this.options.describeKind(event.kind);
    cell(li, "route mono", `${event.src} → ${event.dst}`);
    cell(li, "ms mono", formatMs(event.ms));
    const outcome = cell(li, "outcome", event.ok ? "" : "failed");
    outcome.setAttribute("role", "img"); // an aria-label needs a role to be read
    outcome.setAttribute("aria-label", event.ok ? "ok" : "failed");
    const detail = cell(li, "detail", shortDetail(event.detail));
    detail.title = JSON.stringify(event.detail ?? {});
    return li;
  }

  trim() {
    while (this.list.children.length > this.options.maxRows) {
      const last = this.list.lastElementChild;
      this.ids.delete(last.getAttribute("data-id"));
      last.remove();
    }
  }

  /** Highlight every row of one trace (e.g. the trace a pong names). */
  markTrace(trace) {
    for (const li of this.list.children) {
      if (li.getAttribute("data-trace") === trace) {
        li.classList.add("mine");
      }
    }
  }

  get rowCount() {
    return this.list.children.length;
  }
}
