// "What to look for" on the LB page (pure): the scenario running now (a slow node, a node out,
// uneven weights, no traffic), read from the lab's state, and what the algorithm in use makes
// of it, in words that match the charts. No promise the lab cannot keep: least connections
// moves a slow node's share, not necessarily the p95, and the words say so.
import { algorithmLabel } from "../js/lib/algorithms.js";

// Algorithms that measure nothing: a slow node keeps its share.
const BLIND = new Set(["round_robin", "weighted_round_robin", "random", "consistent_hash"]);
// Algorithms that count requests in flight.
const COUNTING = new Set(["least_connections", "power_of_two"]);
const OUT_HEALTH = new Set(["unhealthy", "ejected"]);

const percent = (fraction) => `${Math.round(fraction * 100)}%`;
const delayOf = (n) => [n.latency_ms ? `+${n.latency_ms} ms` : "", n.jitter_ms ? `±${n.jitter_ms} ms` : ""].join(" ").trim();

function names(nodes) {
  const ids = nodes.map((n) => n.id);
  return ids.length <= 1 ? ids.join("") : `${ids.slice(0, -1).join(", ")} and ${ids[ids.length - 1]}`;
}

/** What is going on now, from the state frame: {sending, queueOnly, out, slow, inRotation,
 * unevenWeights}; queueOnly: the generator's arrivals go to the queue, none to the balancer. */
export function scenarioOf(state) {
  const backends = new Map((state.lb?.backends || []).map((b) => [b.id, b]));
  const nodes = state.nodes || [];
  const isOut = (n) => n.status !== "up" || OUT_HEALTH.has(backends.get(n.id)?.health);
  const out = nodes.filter(isOut);
  const inRotation = nodes.filter((n) => !isOut(n));
  const traffic = state.traffic;
  return {
    sending: Boolean(traffic && traffic.up && traffic.rate > 0 && traffic.queue !== "only"),
    queueOnly: Boolean(traffic && traffic.up && traffic.rate > 0 && traffic.queue === "only"),
    out,
    inRotation,
    slow: inRotation.filter((n) => n.latency_ms > 0 || n.jitter_ms > 0),
    unevenWeights: new Set(inRotation.map((n) => n.weight)).size > 1,
  };
}

function outWords(algorithm, { out }) {
  const one = out.length === 1;
  const why = out.map((n) => (n.status !== "up" ? `${n.id} ${n.status}` : `${n.id} failing health checks`)).join(", ");
  const sticky =
    algorithm === "consistent_hash" ? " Only the keys that hashed to it move; every other client stays where it was." : "";
  return (
    `${names(out)} ${one ? "is" : "are"} out of rotation (${why}): ${one ? "its" : "their"} share drops to 0 and the ` +
    `other nodes take the requests, under any algorithm. Requests that reached ${one ? "it" : "them"} before the ` +
    `balancer noticed show on the errors chart.${sticky}`
  );
}

function slowWords(algorithm, { slow, inRotation }) {
  const one = slow.length === 1;
  const who = `${names(slow)} ${one ? "is" : "are"} slow (${slow.map(delayOf).join(", ")})`;
  const label = algorithmLabel(algorithm);
  if (BLIND.has(algorithm)) {
    const fraction = slow.length / Math.max(1, inRotation.length);
    const lines = fraction >= 0.05 ? "the p95 and p99 lines rise by about its delay" : fraction >= 0.01 ? "the p99 line rises" : "";
    return (
      `${who}. ${label} measures nothing, so ${one ? "it keeps" : "they keep"} getting the usual share of requests: ` +
      `${one ? "its" : "their"} in-flight count climbs${lines ? ` and ${lines}` : ""}. ` +
      "Fairness stays near 1: the requests are still spread evenly, slow node or not."
    );
  }
  const fairness = "The fairness index drops with it, on purpose: the nodes are no longer equal, so an even spread would not be fair.";
  if (COUNTING.has(algorithm)) {
    return (
      `${who}: each request stays in flight longer there, so ${label} picks ${one ? "it" : "them"} less often and ` +
      `${one ? "its" : "their"} share falls below the others'. ${fairness} The p95 line need not fall: whenever ` +
      `${one ? "it has" : "they have"} nothing in flight ${one ? "it ties" : "they tie"} for the fewest and ` +
      "gets the next request, and while those are more than 1 in 20 of all requests the slowest 5% are still " +
      `${one ? "its" : "theirs"}. The p50 line shows the fast nodes.`
    );
  }
  return (
    `${who}: ${one ? "its" : "their"} latency estimate jumps at the first slow answer, so ${label} sends ` +
    `${one ? "it" : "them"} few requests and ${one ? "its" : "their"} share falls; as the estimate fades (about 10 s) ` +
    `${one ? "it is" : "they are"} tried again now and then. ${fairness}`
  );
}

function weightWords(algorithm, { inRotation }) {
  const total = inRotation.reduce((sum, n) => sum + n.weight, 0);
  const list = inRotation.map((n) => `${n.id}: ${n.weight}`).join(", ");
  if (algorithm === "weighted_round_robin") {
    const heaviest = inRotation.reduce((a, b) => (b.weight > a.weight ? b : a));
    return (
      `Weights differ (${list}): each node's share follows its weight, ${heaviest.id} about ` +
      `${percent(heaviest.weight / total)}. Fairness is measured per unit of weight, so it stays near 1.`
    );
  }
  if (algorithm === "consistent_hash") {
    return `Weights differ (${list}): a heavier node owns more of the hash ring, so more keys land on it; which node a client lands on still depends only on its key.`;
  }
  return (
    `Weights differ (${list}), but ${algorithmLabel(algorithm)} ignores weights: the shares stay about even, so the ` +
    "fairness line, measured per unit of weight, sits below 1. Weighted round robin is the algorithm that follows them."
  );
}

function evenWords(algorithm, { inRotation }) {
  const n = inRotation.length;
  if (n < 2) return n === 1 ? `Only ${inRotation[0].id} is in rotation: it takes every request, whatever the algorithm.` : "No node is in rotation: every request is refused (503).";
  const each = percent(1 / n);
  const alike = `All ${n} nodes in rotation are alike.`;
  const words = {
    round_robin: `Round robin gives each the same share, about ${each}, and fairness stays near 1.`,
    weighted_round_robin: `With equal weights it behaves like round robin: about ${each} each, fairness near 1.`,
    random: `The shares wobble around ${each} each and fairness stays a little below 1; the wobble is larger at a low rate.`,
    consistent_hash:
      "Every request is keyed by its client's sticky cookie, else its address, and the traffic generator's all come " +
      "from one address: they land on one node, which takes nearly every request, and fairness falls towards " +
      `1/${n}. That is stickiness doing its job, not a fault.`,
  }[algorithm];
  const measuring = `With equal nodes it spreads the load about evenly, about ${each} each, and fairness stays near 1.`;
  return `${alike} ${words || measuring} Slow a node down, kill one or change a weight to see what ${algorithmLabel(algorithm)} does with it.`;
}

/** The "what to look for" paragraph for the algorithm in use and the scenario running now. */
export function lookFor(algorithm, scenario) {
  if (scenario.queueOnly) {
    return "The traffic generator's arrivals go to the queue only (the Queue page's mode), so the balancer gets none and the charts are flat. Switch the mode back on the Queue page, or send your own requests below.";
  }
  if (!scenario.sending) {
    return "The traffic generator is not sending, so the charts are flat: nothing to compare yet. Instructors start it above; anyone can send their own requests below.";
  }
  const parts = [];
  if (scenario.out.length > 0) parts.push(outWords(algorithm, scenario));
  if (scenario.slow.length > 0) parts.push(slowWords(algorithm, scenario));
  if (scenario.unevenWeights) parts.push(weightWords(algorithm, scenario));
  return parts.length > 0 ? parts.join(" ") : evenWords(algorithm, scenario);
}
