// Which trace events the queue page's events panel lists (pure): scenarios, consumers coming
// and going, redeliveries and dead letters. Every page gets every event of the lab; another
// demo's (chat messages, sessions, the balancer's routing) are not this page's.
import { LIFECYCLE_KINDS as LIFECYCLE, componentOf } from "../js/lib/tracelog.js";

// LIFECYCLE_KINDS (lib/tracelog.js): listed when the component is one of this page's (a consumer, traffic).
// Every job's enqueue, delivery and ack is drawn as a dot: only what goes wrong is listed.
const QUEUE = new Set(["queue.redeliver", "queue.fail", "queue.dead", "queue.duplicate"]);
const EVERY_PAGE = new Set(["redis.down", "redis.up"]);
const OWN_COMPONENTS = ["traffic"];

/** True when the queue page's events panel lists `event`; `consumers` holds the consumers' ids. */
export function queueLogged(event, consumers) {
  const kind = event.kind;
  if (EVERY_PAGE.has(kind) || QUEUE.has(kind)) return true;
  const mine = (id) => consumers.has(id) || OWN_COMPONENTS.includes(id);
  if (LIFECYCLE.has(kind)) return mine(componentOf(event));
  if (kind !== "fault.inject") return false;
  const d = event.detail || {};
  const action = String(d.action || "");
  if (action.startsWith("queue.") || action === "traffic.set") return true;
  return action.startsWith("node.") && mine(String(d.node || ""));
}
