// What each load-balancing algorithm does, in words a learner can read.
// Mirrors the strategies in archviz/balancer/algorithms.py: change them together.

export const ALGORITHMS = Object.freeze({
  round_robin: {
    label: "Round robin",
    summary:
      "Sends each request to the next node in turn: 1, 2, 3, 1, 2, 3… It measures nothing, so every healthy node " +
      "gets the same number of requests however busy or slow it is.",
    lookFor:
      "The shares stay equal (about 33% each with three nodes) even when you add 300 ms latency to one node: its " +
      "in-flight count and the p99 latency climb instead. Kill node-2 and watch its share move to the others once " +
      "the balancer's health checks take it out.",
  },
  weighted_round_robin: {
    label: "Weighted round robin",
    summary:
      "Round robin where a node with weight 3 gets three requests for every one a weight-1 node gets, spread out " +
      "smoothly rather than in runs (nginx's smooth weighted algorithm). Weights say how big each machine is; the " +
      "balancer still measures nothing.",
    lookFor:
      "Set node-1's weight to 3: with three nodes its share rises to about 60% (3 of 5). Then lower its capacity " +
      "and watch it queue and reject: a weight that does not match the real capacity overloads the node.",
  },
  least_connections: {
    label: "Least connections",
    summary:
      "Sends each request to the node with the fewest requests in flight plus open WebSockets, as the balancer " +
      "counts them. A slow node holds on to its requests longer, so it is picked less often.",
    lookFor:
      "Add 300 ms latency to node-2: its in-flight count rises and its share falls, and p95 stays lower than under " +
      "round robin. Open WebSocket clients and see long-lived connections count as load too.",
  },
  least_latency: {
    label: "Least latency (peak EWMA)",
    summary:
      "Keeps a moving average of each node's response time that jumps up at once on a slow answer and fades back " +
      "over about 10 s, multiplies it by the requests already waiting there, and picks the lowest expected wait.",
    lookFor:
      "Add latency with jitter to one node: it is avoided almost at once, then tried again now and then as its " +
      "estimate fades. Compare the p99 line with round robin's.",
  },
  random: {
    label: "Random",
    summary:
      "Picks any healthy node by chance. No state and no coordination: over many requests the shares even out, " +
      "but in any one second some nodes get more than others.",
    lookFor:
      "The shares wobble around an even split and the fairness line stays a little below 1. At a low rate the " +
      "wobble is large; raise the rate and it evens out.",
  },
  power_of_two: {
    label: "Power of two choices",
    summary:
      "Samples two nodes at random and sends the request to the one with fewer requests in flight. Nearly as good " +
      "as asking every node, much cheaper, and it avoids a stampede onto the single least-loaded node.",
    lookFor:
      "Slow one node down: it loses most comparisons and its share drops, while random (which cannot react) keeps " +
      "feeding it. Watch p95 and p99 stay low.",
  },
  consistent_hash: {
    label: "Consistent hashing",
    summary:
      "Hashes a key from the request (its client's session) onto a ring of virtual nodes, so the same key always " +
      "lands on the same node: sticky sessions. Requests without a key are spread round robin.",
    lookFor:
      "Add or remove a node: only about 1/n of the keys move to a different node. Kill a node and only the " +
      "clients it served move; the others stay where they were.",
  },
});

/** The label, explanation and hints for an algorithm name; unknown names are still shown, not hidden. */
export function describeAlgorithm(name) {
  const known = ALGORITHMS[name];
  if (known) {
    return { name, ...known };
  }
  return {
    name,
    label: name ? name.replaceAll("_", " ") : "—",
    summary: name ? "This page has no explanation for this algorithm yet." : "",
    lookFor: "",
  };
}

export function algorithmLabel(name) {
  return describeAlgorithm(name).label;
}
