// The sessions demo's cart client: real requests from this tab through the load balancer,
// carrying the cart's cookie, and the pure rules that say what happened to the cart.

export const CART_TIMEOUT_MS = 5000;

/** A random trace id, so the nodes' session events for this request can be found. */
export function newTraceId(random = crypto) {
  const bytes = random.getRandomValues(new Uint8Array(8));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * What happened to the learner's cart (pure): `had` is how many items they believed it held
 * before this request, `adding` whether the request added one, `answer` the node's JSON.
 * Returns {outcome, want, text}: outcome one of kept, lost, partial, empty; `want` the
 * items the cart should now hold.
 */
export function cartOutcome(had, answer, adding = false) {
  const { node, where, items } = answer;
  const want = had + (adding ? 1 : 0);
  if (!answer.found && had > 0) {
    const started = answer.write && answer.write.created ? " It started a new session." : "";
    return {
      outcome: "lost",
      want,
      text: `Cart lost: ${node} found no session for you in ${where}. You had ${plural(had)}; it shows ${plural(items)}.${started}`,
    };
  }
  if (items < want) {
    return {
      outcome: "partial",
      want,
      text: `${node} has a session for you in ${where}, but it holds only ${plural(items)} of the ${plural(want)} you added.`,
    };
  }
  if (items === 0) return { outcome: "empty", want, text: `Your cart is empty (answered by ${node}, session in ${where}).` };
  return { outcome: "kept", want, text: `Cart kept: ${node} has your session in ${where}, with ${plural(items)}.` };
}

export function plural(n) {
  return `${n} item${n === 1 ? "" : "s"}`;
}

/** One line about a request's session work, for the request list (pure). */
export function describeRequest(answer) {
  let read = answer.found ? `found in ${answer.where}` : `not found in ${answer.where}`;
  if (answer.looked_up === false) read = "no session cookie yet: nothing to look up";
  const write = answer.write
    ? ` · ${answer.write.created ? "new session" : "saved"} ${answer.session ?? ""} in ${answer.where}`
    : "";
  return `${read}${write} · ${plural(answer.items)}`;
}

/** Talks to the cart on the nodes, through the LB, with this tab's cookies. */
export class CartClient {
  constructor({ timeoutMs = CART_TIMEOUT_MS } = {}) {
    this.port = null;
    this.timeoutMs = timeoutMs;
  }

  get ready() {
    return Boolean(this.port);
  }

  url(path, trace) {
    return `http://${window.location.hostname}:${this.port}/cart/${path}?trace=${trace}`;
  }

  /** {ok, status, answer, trace, error}: never throws. */
  async send(method, path, body, trace) {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), this.timeoutMs);
    const options = { method, credentials: "include", cache: "no-store", signal: abort.signal };
    if (body !== undefined) {
      options.headers = { "Content-Type": "application/json" };
      options.body = JSON.stringify(body);
    }
    try {
      const response = await fetch(this.url(path, trace), options);
      const answer = await response.json().catch(() => ({}));
      const error = response.ok ? null : answer.error || `${response.status} ${response.statusText}`;
      return { ok: response.ok, status: response.status, answer, trace, error };
    } catch (err) {
      const error =
        err.name === "AbortError"
          ? `no answer within ${this.timeoutMs / 1000} s`
          : "no answer this page may read: the load balancer could not get one from a node (did it just die?). Try again.";
      return { ok: false, status: 0, answer: {}, trace, error };
    } finally {
      clearTimeout(timer);
    }
  }

  view(trace = newTraceId()) {
    return this.send("GET", "", undefined, trace);
  }

  add(item, trace = newTraceId()) {
    return this.send("POST", "items", { item }, trace);
  }

  clear(trace = newTraceId()) {
    return this.send("POST", "clear", {}, trace);
  }
}
