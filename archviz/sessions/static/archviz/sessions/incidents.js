// What happened to the nodes, from the supervisor's trace events (pure): a kill, and the
// restart that followed, as one line that stays on the page, not a notice that fades.
import { clock as wallClock } from "../js/lib/clock.js";

/** "killed by SIGKILL on ana's command" -> "was killed (SIGKILL) on ana's command". */
function whatHappened(reason = "exited") {
  const killed = /^killed by (SIG\w+|signal \d+)(.*)$/.exec(reason);
  return killed ? `was killed (${killed[1]})${killed[2]}` : reason;
}

const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;

export class NodeIncidents {
  constructor({ maxRows = 8, clock = wallClock } = {}) {
    this.maxRows = maxRows;
    this.clock = clock;
    this.incidents = []; // oldest first: {node, down, start, failed}
    this.seen = new Set(); // event ids: the replay and the live feed may both carry one
  }

  /** Take one trace event; true when the lines changed. */
  add(event) {
    if (!event.kind?.startsWith("node.") || this.seen.has(event.id)) return false;
    this.seen.add(event.id);
    if (event.kind === "node.down") {
      this.incidents.push({ node: event.dst, down: event, start: null, failed: null });
      if (this.incidents.length > this.maxRows) this.incidents.shift();
      return true;
    }
    const open = this.incidents.findLast((i) => i.node === event.dst && !i.start && !i.failed);
    if (!open) return false;
    if (event.kind === "node.start") open.start = event;
    else if (event.kind === "node.failed") open.failed = event;
    else return false;
    return true;
  }

  /** [{node, state, text}], newest first; state is "restarting", "restarted" or "failed". */
  lines() {
    return this.incidents
      .map(({ node, down, start, failed }) => {
        const head = `${node} ${whatHappened(down.detail?.reason)} at ${this.clock(down.ts)}`;
        if (start) {
          return { node, state: "restarted", text: `${head}; the supervisor restarted it ${seconds(start.ts - down.ts)} later (a new process, with empty memory)` };
        }
        if (failed) return { node, state: "failed", text: `${head}; the supervisor gave up restarting it` };
        const wait = down.detail?.restart_in_s;
        return { node, state: "restarting", text: `${head}; the supervisor restarts it${wait === undefined ? "" : ` in ${wait.toFixed(1)} s`}` };
      })
      .reverse();
  }
}
