// Which trace events the LB page's events panel lists (pure): faults, health changes,
// algorithm switches and its own components coming and going. Every page gets every
// event of the lab; another demo's (queue acks, chat messages, sessions) are not this page's.
import { LIFECYCLE_KINDS as LIFECYCLE, componentOf } from "../js/lib/tracelog.js";

// LIFECYCLE_KINDS (lib/tracelog.js): listed when the component is one of this page's (a node, the LB, traffic).
const BALANCER = new Set(["lb.algorithm", "lb.health", "lb.retry", "lb.reject"]);
const EVERY_PAGE = new Set(["redis.down", "redis.up"]);
const OWN_COMPONENTS = ["lb", "traffic"];

/** True when `event` is from another of the balancer's listeners than the nodes': the gateway
 * and services listeners trace as demo "gateway" (the gateway page's), the dashboards' (a
 * class's several dashboards) as demo "dashboard" (the lab's own pages, not this demo). */
export function otherListener(event) {
  return event.demo === "gateway" || event.demo === "dashboard";
}

/** True when the LB page's events panel lists `event`; `nodes` holds the ids of the nodes. */
export function lbLogged(event, nodes) {
  const kind = event.kind;
  if (EVERY_PAGE.has(kind)) return true;
  if (BALANCER.has(kind)) return !otherListener(event);
  const mine = (id) => nodes.has(id) || OWN_COMPONENTS.includes(id);
  if (LIFECYCLE.has(kind)) return mine(componentOf(event));
  if (kind !== "fault.inject") return false;
  const d = event.detail || {};
  const action = String(d.action || "");
  if (["lb.algorithm", "traffic.set", "node.add", "node.remove"].includes(action)) return true;
  return action.startsWith("node.") && mine(String(d.node || ""));
}
