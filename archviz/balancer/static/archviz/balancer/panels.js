// The LB page's side panels: the algorithm, the traffic generator, and "your tab as a client".
import { algorithmLabel, describeAlgorithm } from "../js/lib/algorithms.js";
import { nodeColour } from "../js/lib/chartdata.js";
import { text } from "../js/lib/dom.js";
import { lookFor, scenarioOf } from "./lookfor.js";
import { trafficChip } from "./traffic.js";

const MY_REQUESTS = 10;
const MY_REQUEST_TIMEOUT_MS = 10_000;

/** Show a message on a panel's message line; it clears itself after a while. */
function say(panel, message, tone) {
  text(panel.message, message);
  panel.message.setAttribute("data-tone", tone);
  clearTimeout(panel.messageTimer);
  if (message) panel.messageTimer = setTimeout(() => text(panel.message, ""), tone === "error" ? 20_000 : 8000);
}

/** The current algorithm, what it does, what to look for in the scenario running; instructors also get the selector. */
export class AlgorithmPanel {
  constructor({ root, onChoose }) {
    this.current = root.querySelector("#current-algorithm");
    this.summary = root.querySelector("#algorithm-summary");
    this.lookFor = root.querySelector("#algorithm-look-for");
    this.message = root.querySelector("#algorithm-message");
    this.select = root.querySelector("#algorithm");
    this.pending = null; // {name, until}
    if (this.select) {
      for (const option of this.select.options) option.textContent = algorithmLabel(option.value);
      this.select.addEventListener("change", () => {
        this.pending = { name: this.select.value, until: Date.now() + 8000 };
        this.say(`Switching to ${algorithmLabel(this.select.value)}…`);
        onChoose(this.select.value);
      });
    }
  }

  update(state) {
    const lb = state.lb;
    const name = lb ? lb.algorithm : "";
    if (this.pending && (this.pending.name === name || Date.now() > this.pending.until)) {
      this.pending = null;
      if (lb && name) this.say("");
    }
    const about = describeAlgorithm(name);
    this.current.setAttribute("data-algorithm", name);
    text(this.current, lb ? about.label : "none: the load balancer is not running");
    text(this.summary, lb ? about.summary : "Once the load balancer runs, this says what its algorithm does.");
    text(this.lookFor, lb && name ? lookFor(name, scenarioOf(state)) : "");
    this.lookFor.parentElement.hidden = !lb || !name;
    if (this.select) {
      this.select.disabled = !lb;
      const focused = document.activeElement === this.select;
      if (lb && !this.pending && !focused && this.select.value !== name) this.select.value = name;
    }
  }

  accepted() {
    this.say("The balancer got the command; the picture shows the switch when it happens.");
  }

  refused(reason) {
    this.pending = null;
    this.say(`Not switched: ${reason}`, "error");
  }

  say(message, tone = "info") {
    say(this, message, tone);
  }
}

const TRAFFIC_FIELDS = [
  { name: "rate", id: "traffic-rate", label: "rate" },
  { name: "work_ms", id: "traffic-work", label: "work ms" },
  { name: "variance_ms", id: "traffic-variance", label: "variance ms" },
  { name: "ws_clients", id: "traffic-ws", label: "WebSocket clients" },
];

/** The traffic generator: settings read-only for learners, start/stop for instructors. */
export class TrafficPanel {
  constructor({ root, limits, onSend }) {
    this.limits = limits;
    this.onSend = onSend;
    this.status = root.querySelector("#traffic-status");
    this.message = root.querySelector("#traffic-message");
    this.readOnly = Object.fromEntries(
      [...root.querySelectorAll("[data-traffic]")].map((e) => [e.getAttribute("data-traffic"), e]),
    );
    this.inputs = Object.fromEntries(
      TRAFFIC_FIELDS.map((f) => [f.name, root.querySelector(`#${f.id}`)]).filter(([, e]) => e),
    );
    this.start = root.querySelector("#traffic-start");
    this.stop = root.querySelector("#traffic-stop");
    for (const input of Object.values(this.inputs)) {
      input.addEventListener("input", () => input.setAttribute("data-dirty", "1"));
    }
    this.start?.addEventListener("click", () => this.send(false));
    this.stop?.addEventListener("click", () => this.send(true));
    this.form = root.querySelector("#traffic-form");
    this.form?.addEventListener("submit", (event) => {
      event.preventDefault();
      this.send(false);
    });
  }

  /** The four numbers from the inputs, checked against the server's limits. */
  read(stopping) {
    const settings = {};
    for (const { name, label } of TRAFFIC_FIELDS) {
      const [low, high] = this.limits[name] || [0, Infinity];
      const min = name === "rate" && !stopping ? Math.max(1, low) : low;
      const value = Number(this.inputs[name].value);
      if (this.inputs[name].value.trim() === "" || !Number.isFinite(value) || value < min || value > high) {
        return { error: `${label} must be a number from ${min} to ${high}` };
      }
      settings[name] = name === "ws_clients" ? Math.round(value) : value;
    }
    if (stopping) settings.rate = 0;
    return { settings };
  }

  send(stopping) {
    const { settings, error } = this.read(stopping);
    if (error && !stopping) {
      this.say(error, "error");
      return;
    }
    const fallback = { rate: 0, work_ms: 0, variance_ms: 0, ws_clients: 0 };
    if (this.onSend(settings || fallback)) {
      this.say(stopping ? "Stopping the traffic…" : "Sending the new traffic settings…");
    }
  }

  update(traffic) {
    const { state, word } = trafficChip(traffic);
    const sending = state === "sending" || state === "queue-only"; // either way Stop stops it
    text(this.status, word);
    this.status.setAttribute("data-state", state);
    const show = (name, value) => text(this.readOnly[name], value);
    show("rate", traffic ? `${Number(traffic.rate).toFixed(0)} /s` : "—");
    show("work_ms", traffic ? `${Number(traffic.work_ms).toFixed(0)} ms` : "—");
    show("variance_ms", traffic ? `± ${Number(traffic.variance_ms).toFixed(0)} ms` : "");
    show("ws_clients", traffic ? `${traffic.ws_open} open of ${traffic.ws_clients}` : "—");
    if (!this.start) return;
    this.start.disabled = !traffic;
    this.stop.disabled = !traffic || !sending;
    text(this.start, sending ? "Apply" : "Start");
    for (const { name } of TRAFFIC_FIELDS) {
      const input = this.inputs[name];
      input.disabled = !traffic;
      const busy = input.hasAttribute("data-dirty") || document.activeElement === input;
      // A stopped generator reports rate 0, which is no rate to start with: keep the input's.
      const shown = traffic && (sending || name !== "rate");
      if (shown && !busy && input.value !== String(traffic[name])) input.value = String(traffic[name]);
    }
  }

  accepted() {
    for (const input of Object.values(this.inputs)) input.removeAttribute("data-dirty");
    this.say("The traffic generator got the new settings.");
  }

  say(message, tone = "info") {
    say(this, message, tone);
  }
}

/** This tab as a client: real requests through the LB, and which node answered each. */
export class MyRequests {
  constructor({ button, list, note, summary }) {
    this.button = button;
    this.list = list;
    this.note = note;
    this.summary = summary;
    this.port = null;
    this.running = false;
    button.addEventListener("click", () => this.run());
  }

  update(lb) {
    this.port = lb && lb.port ? lb.port : null;
    this.button.disabled = this.running || !this.port;
    text(
      this.note,
      this.port
        ? `Your browser sends GET http://${window.location.hostname}:${this.port}/work?ms=20 itself: the balancer picks a node for each.`
        : "The load balancer is not running, so there is nothing to send requests through yet.",
    );
  }

  async run() {
    if (!this.port || this.running) return;
    this.running = true;
    this.button.disabled = true;
    this.list.replaceChildren();
    text(this.summary, "");
    const url = `http://${window.location.hostname}:${this.port}/work?ms=20`;
    const counts = {};
    for (let i = 1; i <= MY_REQUESTS; i += 1) {
      const answer = await this.fetchOne(url);
      if (answer.node) counts[answer.node] = (counts[answer.node] || 0) + 1;
      this.list.append(this.row(i, answer));
    }
    const spread = Object.entries(counts).sort(([a], [b]) => a.localeCompare(b, undefined, { numeric: true }));
    text(
      this.summary,
      spread.length ? `Answered by ${spread.map(([n, c]) => `${n}: ${c}`).join(" · ")}` : "No node answered.",
    );
    this.running = false;
    this.button.disabled = !this.port;
  }

  async fetchOne(url) {
    const started = performance.now();
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), MY_REQUEST_TIMEOUT_MS);
    try {
      const response = await fetch(url, { signal: abort.signal, cache: "no-store" });
      const body = await response.json().catch(() => ({}));
      const node = response.headers.get("X-Archviz-Node") || body.node || null;
      const ms = performance.now() - started;
      if (response.ok) return { node, ms, outcome: body.queued ? "queued" : "ok" };
      const why = body.error || response.statusText || "error";
      return { node, ms, outcome: response.status === 503 ? "rejected" : "failed", why: `${response.status} ${why}` };
    } catch (err) {
      const why =
        err.name === "AbortError"
          ? `no answer within ${MY_REQUEST_TIMEOUT_MS / 1000} s`
          : "could not reach the load balancer";
      return { node: null, ms: performance.now() - started, outcome: "failed", why };
    } finally {
      clearTimeout(timer);
    }
  }

  row(i, { node, ms, outcome, why }) {
    const li = document.createElement("li");
    li.setAttribute("data-outcome", outcome);
    if (node) {
      li.setAttribute("data-node", node);
      li.style.setProperty("--node-colour", nodeColour(node));
    }
    const took = `${ms.toFixed(0)} ms`;
    const who = node || "no node";
    const waited = outcome === "queued" ? ", waited in its queue" : "";
    li.textContent = why ? `#${i} → ${who}: ${why} (${took})` : `#${i} → ${who} (${took}${waited})`;
    return li;
  }
}
