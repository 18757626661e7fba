// The class bar's pure rules: where following takes a tab, and what the presenter keys do.

/** The URL of the instructor's place: the page, with its lesson when there is one. */
export function destination(where) {
  return where.lesson ? `${where.path}?lesson=${encodeURIComponent(where.lesson)}` : where.path;
}

// the pages a class is never sent to (rules.NOT_FOLLOWED): its own, and logging in
const NOT_FOLLOWED = ["/class/", "/accounts/", "/admin/"];

/** Whether the instructor's tab at `path` says where it is (the class follows it there). */
export function followable(path) {
  return !NOT_FOLLOWED.some((prefix) => path.startsWith(prefix));
}

/** Whether a tab at `path` with `search` (location's) is on another page than `where`. */
export function elsewhere(where, path, search) {
  if (!where) return false;
  const lesson = new URLSearchParams(search).get("lesson") || null;
  return where.path !== path || (where.lesson || null) !== lesson;
}

// What a presenter remote (or a keyboard) sends: PageDown/PageUp, the arrows, "." (blank).
const KEYS = Object.freeze({
  PageDown: "next",
  ArrowRight: "next",
  PageUp: "previous",
  ArrowLeft: "previous",
  ".": "pause",
  p: "pause",
  P: "pause",
  Pause: "pause",
  b: "pause",
  B: "pause",
});

/** The presenter action of a key event, or null (typing in a field is never one). */
export function presenterAction(key, { inField = false, modified = false } = {}) {
  if (inField || modified) return null;
  return KEYS[key] || null;
}

/** The step after a move of `delta`, kept within 0..total (total: "try it yourself"). */
export function movedStep(current, delta, total) {
  return Math.max(0, Math.min(total, current + delta));
}

/** Roster counts in words: "3 following · 1 free · 2 dropped". */
export function rosterWords(roster) {
  if (!roster.length) return "no one has joined yet";
  const count = (state) => roster.filter((row) => row.state === state).length;
  return ["following", "free", "dropped"]
    .map((state) => `${count(state)} ${state}`)
    .join(" · ");
}

/** A chart label broken into lines of at most `width` characters (Plotly's <br>), words kept
 * whole; the choices are lesson text, and Plotly draws tick labels as text, not HTML. */
export function wrapLabel(label, width) {
  const lines = [];
  for (const word of label.split(/\s+/).filter(Boolean)) {
    const last = lines.length - 1;
    if (last >= 0 && (lines[last] + " " + word).length <= width) lines[last] += ` ${word}`;
    else lines.push(word);
  }
  return lines.join("<br>");
}
