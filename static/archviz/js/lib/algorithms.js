// What each load-balancing algorithm does, in words a learner can read.
// Mirrors the strategies in archviz/balancer/algorithms.py: change them together.

export const ALGORITHMS = Object.freeze({
  round_robin: {
    label: "Round robin",
    summary:
      "Sends each request to the next node in turn: 1, 2, 3, 1, 2, 3… It measures nothing, so every healthy node " +
      "gets the same number of requests however busy or slow it is.",
  },
  weighted_round_robin: {
    label: "Weighted round robin",
    summary:
      "Round robin where a node with weight 3 gets three requests for every one a weight-1 node gets, spread out " +
      "smoothly rather than in runs (nginx's smooth weighted algorithm). Weights say how big each machine is; the " +
      "balancer still measures nothing.",
  },
  least_connections: {
    label: "Least connections",
    summary:
      "Sends each request to the node with the fewest requests in flight plus open WebSockets, as the balancer " +
      "counts them. A slow node holds on to its requests longer, so it is picked less often.",
  },
  least_latency: {
    label: "Least latency (peak EWMA)",
    summary:
      "Keeps a moving average of each node's response time that jumps up at once on a slow answer and fades back " +
      "over about 10 s, multiplies it by the requests already waiting there, and picks the lowest expected wait.",
  },
  random: {
    label: "Random",
    summary:
      "Picks any healthy node by chance. No state and no coordination: over many requests the shares even out, " +
      "but in any one second some nodes get more than others.",
  },
  power_of_two: {
    label: "Power of two choices",
    summary:
      "Samples two nodes at random and sends the request to the one with fewer requests in flight. Nearly as good " +
      "as asking every node, much cheaper, and it avoids a stampede onto the single least-loaded node.",
  },
  consistent_hash: {
    label: "Consistent hashing",
    summary:
      "Hashes a key from the request (its client's session) onto a ring of virtual nodes, so the same key always " +
      "lands on the same node: sticky sessions. Requests without a key are spread round robin.",
  },
});

/** The label and explanation of an algorithm name (the LB page's lookfor.js says what to look for now); unknown names are still shown, not hidden. */
export function describeAlgorithm(name) {
  const known = ALGORITHMS[name];
  if (known) {
    return { name, ...known };
  }
  return {
    name,
    label: name ? name.replaceAll("_", " ") : "—",
    summary: name ? "This page has no explanation for this algorithm yet." : "",
  };
}

export function algorithmLabel(name) {
  return describeAlgorithm(name).label;
}
