// The sessions picture: your tab, the LB, each node with its memory, and Redis, as HTML
// boxes; wires and moving dots in an SVG laid over them, in pixels measured from the boxes.
import { el, text } from "../js/lib/dom.js";
import { setAttributes, svgElement } from "../js/lib/svg.js";

const HOP_MS = 380;
const MAX_DOTS = 40;

/**
 * Where this learner's sessions are, as far as the answers to their own requests tell
 * (pure bookkeeping): place ("node-2 memory" or "redis") -> {session, items}.
 */
export class SessionHoldings {
  constructor() {
    this.places = new Map();
    this.current = null; // the session the tab's cookie names, as last seen
  }

  /** Learn from one answer; `asked` is the session the request's cookie named. */
  learn(answer, asked) {
    const { where } = answer;
    if (answer.found || answer.write) {
      this.places.set(where, { session: answer.session, items: answer.items });
      this.current = answer.session;
    } else if (this.places.get(where)?.session === asked) {
      this.places.delete(where); // that place no longer has the session we asked for
    }
  }

  /** A node's memory is gone: it died or was restarted. */
  forgetNode(nodeId) {
    this.places.delete(`${nodeId} memory`);
  }

  /** {state: "mine" | "old" | "none", text} for one place. */
  describe(place) {
    const held = this.places.get(place);
    if (!held) return { state: "none", text: "no session of yours" };
    const items = `${held.items} item${held.items === 1 ? "" : "s"}`;
    if (held.session === this.current) return { state: "mine", text: `your cart: ${items} · session ${held.session}` };
    return { state: "old", text: `an old session of yours (${items}, ${held.session}): your cookie names another` };
  }
}

/** One node: its status, and its memory, which holds sessions in the in-process modes. */
class NodeBox {
  constructor(nodeId, onKill) {
    this.id = nodeId;
    this.holds = el("p", { class: "sbox-holds", "data-holds": "none" }, "—");
    this.status = el("p", { class: "sbox-small" }, "—");
    this.memory = el("div", { class: "smemory", "data-box": `${nodeId}:memory` }, el("span", { class: "smemory-title" }, "memory"), this.holds);
    this.root = el("div", { class: "sbox sbox-node", "data-node": nodeId, "data-status": "down" }, el("h3", {}, nodeId), this.status, this.memory);
    if (onKill) {
      const kill = el("button", { type: "button", class: "node-kill", "data-action": "kill", title: "SIGKILL this node: its memory dies with it (the supervisor restarts it)" }, "Kill");
      kill.addEventListener("click", () => onKill(nodeId));
      this.root.append(kill);
    }
    this.pid = null;
  }

  update(view) {
    this.root.setAttribute("data-status", view.status);
    text(this.status, view.status === "up" ? `up · pid ${view.pid}` : view.detail || view.status);
  }

  show(description) {
    this.holds.setAttribute("data-holds", description.state);
    text(this.holds, description.text);
  }
}

export class SessionPicture {
  constructor({ frame, svg, tab, lb, nodeList, redis, tabSession, redisHolds, onKill = null }) {
    Object.assign(this, { frame, svg, tab, lb, nodeList, redis, tabSession, redisHolds, onKill });
    this.nodes = new Map();
    this.holdings = new SessionHoldings();
    this.wires = svgElement("g", { class: "session-wire-layer" }, svg);
    this.dots = svgElement("g", { class: "session-dot-layer" }, svg);
    this.dotCount = 0;
    new ResizeObserver(() => this.drawWires()).observe(frame);
  }

  /** The nodes from the lab's state; a node that died or restarted lost its memory. */
  updateNodes(nodes) {
    const seen = new Set();
    for (const view of nodes) {
      seen.add(view.id);
      let box = this.nodes.get(view.id);
      if (!box) {
        box = new NodeBox(view.id, this.onKill);
        this.nodes.set(view.id, box);
        this.nodeList.append(box.root);
      }
      // a paused node is frozen, not dead: its memory still holds what it held
      const alive = view.status === "up" || view.status === "paused";
      if (!alive || (box.pid !== null && view.pid !== box.pid)) this.holdings.forgetNode(view.id);
      if (view.status === "up") box.pid = view.pid;
      box.update(view);
    }
    for (const [id, box] of this.nodes) {
      if (!seen.has(id)) {
        box.root.remove();
        this.nodes.delete(id);
        this.holdings.forgetNode(id);
      }
    }
    this.render();
    this.drawWires();
  }

  learn(answer, asked) {
    this.holdings.learn(answer, asked);
    this.render();
  }

  render() {
    for (const [id, box] of this.nodes) box.show(this.holdings.describe(`${id} memory`));
    const redis = this.holdings.describe("redis");
    this.redisHolds.setAttribute("data-holds", redis.state);
    text(this.redisHolds, redis.state === "none" ? "—" : redis.text);
    text(this.tabSession, this.holdings.current ? `session ${this.holdings.current}` : "no session yet");
  }

  // --- wires and dots -------------------------------------------------------------

  centre(element) {
    const frame = this.frame.getBoundingClientRect();
    const box = element.getBoundingClientRect();
    return { x: box.left - frame.left + box.width / 2, y: box.top - frame.top + box.height / 2 };
  }

  drawWires() {
    const { width, height } = this.frame.getBoundingClientRect();
    setAttributes(this.svg, { viewBox: `0 0 ${width} ${height}`, width, height });
    this.wires.replaceChildren();
    const line = (a, b, cls) => {
      const p = this.centre(a);
      const q = this.centre(b);
      svgElement("line", { x1: p.x, y1: p.y, x2: q.x, y2: q.y, class: `session-wire ${cls}` }, this.wires);
    };
    line(this.tab, this.lb, "");
    for (const box of this.nodes.values()) {
      line(this.lb, box.root, "");
      line(box.memory, this.redis, "to-redis");
    }
  }

  /** A request of this tab: tab -> LB -> the node that answered. */
  request(nodeId, ok) {
    const node = this.nodes.get(nodeId);
    const cls = ok ? "sdot-request" : "sdot-miss";
    this.fly([this.tab, this.lb, ...(node ? [node.root] : [])], cls, true);
  }

  /** A node's session.read or session.write event: node -> its memory, or node -> Redis. */
  sessionEvent(event, mine) {
    const node = this.nodes.get(event.src);
    if (!node) return;
    const target = event.dst === "redis" ? this.redis : node.memory;
    const missed = event.kind === "session.read" && !event.detail?.found;
    const cls = !event.ok || missed ? "sdot-miss" : event.kind === "session.read" ? "sdot-read" : "sdot-write";
    this.fly([node.root, target], cls, mine);
  }

  fly(elements, cls, big) {
    if (this.dotCount >= MAX_DOTS || document.hidden || elements.length < 2) return;
    const points = elements.map((e) => this.centre(e));
    const dot = svgElement("circle", { r: big ? 7 : 4, class: `session-dot ${cls}` }, this.dots);
    this.dotCount += 1;
    const started = performance.now();
    const total = HOP_MS * (points.length - 1);
    const step = (now) => {
      const t = Math.max(0, Math.min(1, (now - started) / total)); // rAF time may precede `started`
      const hop = Math.min(points.length - 2, Math.floor(t * (points.length - 1)));
      const f = t * (points.length - 1) - hop;
      const a = points[hop];
      const b = points[hop + 1];
      setAttributes(dot, { cx: a.x + (b.x - a.x) * f, cy: a.y + (b.y - a.y) * f });
      if (t < 1) {
        requestAnimationFrame(step);
      } else {
        dot.remove();
        this.dotCount -= 1;
      }
    };
    requestAnimationFrame(step);
  }
}
