// The traffic generator as the LB page describes it (pure). It is shared with the Queue page,
// whose "queue only" makes every arrival a queue job and sends nothing to the balancer.

/** What the traffic generator is doing, as the LB page sees it: {state, word}; never
 * "sending" while its arrivals go to the queue only. */
export function clientState(traffic) {
  if (!traffic || !traffic.up) return { state: "down", word: "not running" };
  if (!(traffic.rate > 0)) return { state: "idle", word: "idle (rate 0)" };
  if (traffic.queue === "only") {
    return { state: "queue-only", word: "arrivals go to the queue only, none to the balancer" };
  }
  return { state: "sending", word: traffic.queue === "also" ? "sending, each arrival also queued" : "sending" };
}


/** The traffic panel's chip: short, with the rate while it sends through the balancer. */
export function trafficChip(traffic) {
  const { state, word } = clientState(traffic);
  const chip = {
    down: "not running",
    idle: "stopped",
    "queue-only": "to the queue only, not the balancer",
    sending: `sending ${Number(traffic?.rate).toFixed(0)} req/s`,
  }[state];
  return { state, word: state === "sending" && word !== "sending" ? `${chip}, also queued` : chip };
}
