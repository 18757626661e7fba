// Who set the shared state, said on every page that shows its effect.
//
// The pages share one traffic generator, one set of node settings and the lab's modes: the
// state frame's `set_by` (archviz/core/set_by.py) says who last set each, and from which
// page or lesson. A page shows a notice beside the controls concerned, unless the change
// was made on that same page.

// Mirrors WHATS in archviz/core/set_by.py (tests/test_protocol_mirror.py checks it).
export const SET_BY_WHATS = Object.freeze({
  traffic: "Traffic",
  nodes: "Node settings",
  "lb.algorithm": "The algorithm",
  "chat.mode": "The chat mode",
  "chat.bots": "The chat bots",
  "session.mode": "The session mode",
  "queue.consumers": "The consumers",
  overload: "The overload scenario",
  gateway: "The gateway scenario",
});

const PAGES = Object.freeze([
  [/^\/lb\/$/, "the LB page"],
  [/^\/queue\/$/, "the Queue page"],
  [/^\/overload\/$/, "the Overload page"],
  [/^\/chat\//, "the Chat page"],
  [/^\/sessions\/$/, "the Sessions page"],
  [/^\/gateway\/$/, "the Gateway page"],
  [/^\/lab\/$/, "the Lab page"],
  [/^\/$/, "the home page"],
]);

/** The page a path is, in words ("the Queue page"); null for no path. */
export function pageName(path) {
  if (!path) return null;
  const found = PAGES.find(([pattern]) => pattern.test(path));
  return found ? found[1] : `the page ${path}`;
}

/** How long ago `ts` was, at `now` (both unix ms), in words: "2 min ago". */
export function ago(ts, now) {
  const seconds = Math.max(0, Math.round((now - ts) / 1000));
  if (seconds < 10) return "just now";
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  const days = Math.floor(seconds / 86400);
  return `${days} day${days === 1 ? "" : "s"} ago`;
}

function where(page) {
  if (typeof page === "string" && page.startsWith("lesson: ")) {
    return `in the lesson “${page.slice("lesson: ".length)}”`;
  }
  const name = pageName(page);
  return name ? `on ${name}` : null;
}

/**
 * What to say of `what` (a key of SET_BY_WHATS) on the page at path `here`, at `now` (unix
 * ms): "Traffic set 2 min ago by ingrid on the Queue page"; null when it was set on this
 * page (the same page name: every chat room is the Chat page) or never.
 */
export function setByNotice(setBy, what, here, now) {
  return setByNotices(setBy, [what], here, now)[0] ?? null;
}

/**
 * The notices for several of the shared state's parts, one sentence per setter and place:
 * "The session mode and the algorithm set just now by ingrid in the lesson “Sessions”".
 */
export function setByNotices(setBy, whats, here, now) {
  const groups = new Map(); // what follows the names -> the names
  for (const what of whats) {
    const entry = setBy ? setBy[what] : null;
    if (!entry || typeof entry !== "object" || !(what in SET_BY_WHATS)) continue;
    if (entry.page && pageName(entry.page) === pageName(here)) continue;
    const rest = [];
    if (typeof entry.ts === "number") rest.push(ago(entry.ts, now));
    rest.push(`by ${entry.by || "someone"}`);
    const place = where(entry.page);
    if (place) rest.push(place);
    const key = rest.join(" ");
    groups.set(key, [...(groups.get(key) || []), SET_BY_WHATS[what]]);
  }
  return [...groups].map(([rest, names]) => `${listed(names)} set ${rest}`);
}

function listed(names) {
  const [first, ...others] = names;
  const lower = others.map((name) => name.charAt(0).toLowerCase() + name.slice(1));
  return [first, ...lower].join(" and ");
}

/**
 * Fill every notice of the page from a state: each element with `data-set-by="traffic
 * nodes"` (a role=status placed beside the controls concerned, in the template) says what
 * of those was set elsewhere, and is hidden when nothing was.
 */
export function renderSetBy(root, state, here = globalThis.location?.pathname) {
  const now = typeof state?.ts === "number" ? state.ts : Date.now();
  for (const element of root.querySelectorAll("[data-set-by]")) {
    const whats = element.dataset.setBy.split(" ").filter(Boolean);
    const notices = setByNotices(state?.set_by, whats, here, now);
    element.textContent = notices.join(". ");
    element.hidden = notices.length === 0;
  }
}
