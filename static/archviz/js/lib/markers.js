// How event markers are drawn on a live chart (pure: no DOM, no Plotly). A few actions in a
// row used to pile their labels into unreadable text: markers close in time collapse into
// one, only the newest few carry a label, and the others are ticks whose title shows on hover.

export const MARKER_TONES = Object.freeze({
  algorithm: "#1d4ed8",
  fault: "#dc2626",
  health: "#b45309",
  recovery: "#15803d",
  scaling: "#7c3aed",
  traffic: "#57606a",
});

const DEFAULTS = {
  windowMs: 120_000, // the chart's time window
  mergeMs: null, // markers this close to a group's first one join it; null: 1/40 of the window
  labelled: 3, // how many of the newest groups carry a label
  maxChars: 32, // a label longer than this is cut (the hover title keeps it whole)
};

const cut = (text, maxChars) => (text.length <= maxChars ? text : `${text.slice(0, maxChars - 1)}…`);

/**
 * Markers ({ts, text, tone, dash, title}) as groups, oldest first: {ts, text, title, tone,
 * dash, count, label, row}. A group starts at its oldest marker and takes in those less than
 * mergeMs after it; it is drawn at its oldest marker's time, in its newest marker's tone, and
 * its text is the newest's, with "+N" for the others. The newest `labelled` groups have
 * label true and rows 0, 1, 2… (0 the newest, at the top); the others are ticks (row null).
 */
export function layoutMarkers(markers, options = {}) {
  const { windowMs, mergeMs, labelled, maxChars } = { ...DEFAULTS, ...options };
  const near = mergeMs ?? windowMs / 40;
  const sorted = [...markers].sort((a, b) => a.ts - b.ts);
  const groups = [];
  for (const marker of sorted) {
    const group = groups[groups.length - 1];
    if (group && marker.ts - group[0].ts < near) group.push(marker);
    else groups.push([marker]);
  }
  return groups.map((members, i) => {
    const newest = members[members.length - 1];
    const rank = groups.length - 1 - i; // 0: the newest group
    const words = newest.text || newest.title || "";
    const more = members.length > 1 ? ` +${members.length - 1}` : "";
    return {
      ts: members[0].ts,
      text: cut(words, maxChars) + more,
      title: members.map((m) => m.title || m.text).join("<br>"),
      tone: newest.tone,
      dash: newest.dash || "solid",
      count: members.length,
      label: rank < labelled,
      row: rank < labelled ? rank : null,
    };
  });
}

const ROWS = [0.99, 0.88, 0.77, 0.66];

/**
 * Plotly shapes (a vertical line each) and annotations for laid-out markers; `x` turns a
 * unix-ms time into the axis's value. A labelled group gets its text left of its line (the
 * newest are never cut off at the right edge); a tick gets a small mark at the top, with the same title.
 */
export function markerDecorations(laid, x = (ts) => ts) {
  const colour = (m) => MARKER_TONES[m.tone] || "#57606a";
  const shapes = laid.map((m) => ({
    type: "line",
    xref: "x",
    yref: "paper",
    x0: x(m.ts),
    x1: x(m.ts),
    y0: 0,
    y1: 1,
    line: { color: colour(m), width: m.label ? 1.5 : 1, dash: m.dash },
    layer: "above",
  }));
  const annotations = laid.map((m) => ({
    x: x(m.ts),
    xref: "x",
    y: m.label ? ROWS[m.row % ROWS.length] : 1,
    yref: "paper",
    text: m.label ? m.text : "▾",
    hovertext: m.title,
    showarrow: false,
    xanchor: m.label ? "right" : "center",
    yanchor: "top",
    xshift: m.label ? -2 : 0,
    font: { size: 12, color: colour(m) },
    ...(m.label ? { bgcolor: "rgba(255,255,255,0.85)" } : {}),
  }));
  return { shapes, annotations };
}
