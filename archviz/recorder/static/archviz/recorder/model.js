// The timeline's pure helpers: idle stretches collapsed, time <-> x, speeds, clock text.

export const SPEEDS = Object.freeze([0.25, 0.5, 1, 2, 4, 8]);
export const MIN_IDLE_RUN = 4; // buckets in a row with no event and no marker: collapsed
export const COLLAPSED_WIDTH = 0.4; // a collapsed stretch is drawn this many buckets wide

/** Which buckets are busy: any lane counted an event there, or a marker falls in it. */
export function busyBuckets(lanes, markers, start, bucketMs, count) {
  const busy = new Array(count).fill(false);
  for (const counts of Object.values(lanes)) {
    counts.forEach((n, i) => {
      if (n > 0) busy[i] = true;
    });
  }
  for (const marker of markers) {
    const i = Math.floor((marker.ts - start) / bucketMs);
    if (i >= 0 && i < count) busy[i] = true;
  }
  return busy;
}

/**
 * The segments the axis is drawn as: runs of busy buckets at full width, idle runs of at
 * least `minRun` buckets squeezed to COLLAPSED_WIDTH. Each: {t0, t1, x0, x1, idle}, x in
 * [0, 1].
 */
export function segments(busy, start, bucketMs, minRun = MIN_IDLE_RUN) {
  const runs = [];
  let i = 0;
  while (i < busy.length) {
    let j = i;
    while (j < busy.length && busy[j] === busy[i]) j += 1;
    const idle = !busy[i] && j - i >= minRun;
    const last = runs[runs.length - 1];
    if (last && !idle && !last.idle) {
      last.to = j; // a short idle run stays part of the busy run around it
    } else {
      runs.push({ from: i, to: j, idle });
    }
    i = j;
  }
  const widths = runs.map((run) => (run.idle ? COLLAPSED_WIDTH : run.to - run.from));
  const total = widths.reduce((a, b) => a + b, 0) || 1;
  let x = 0;
  return runs.map((run, k) => {
    const x0 = x;
    x += widths[k] / total;
    return { t0: start + run.from * bucketMs, t1: start + run.to * bucketMs, x0, x1: x, idle: run.idle };
  });
}

/** The fraction across the axis (0-1) of time `t`. */
export function timeToX(segs, t) {
  if (segs.length === 0) return 0;
  if (t <= segs[0].t0) return 0;
  for (const s of segs) {
    if (t <= s.t1) return s.x0 + ((t - s.t0) / (s.t1 - s.t0 || 1)) * (s.x1 - s.x0);
  }
  return 1;
}

/** The time at fraction `x` (0-1) across the axis. */
export function xToTime(segs, x) {
  if (segs.length === 0) return 0;
  const clamped = Math.min(1, Math.max(0, x));
  for (const s of segs) {
    if (clamped <= s.x1) return s.t0 + ((clamped - s.x0) / (s.x1 - s.x0 || 1)) * (s.t1 - s.t0);
  }
  return segs[segs.length - 1].t1;
}

/** "14:05:07" for a unix ms, in the page's time zone. */
export function clock(ms) {
  return new Date(ms).toLocaleTimeString([], { hour12: false });
}

/** "1:05" for a duration in ms. */
export function duration(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

/** A bar's height (0-1) for a count: square root, so that one event still shows. */
export function barHeight(count, max) {
  return max > 0 && count > 0 ? Math.max(0.12, Math.sqrt(count / max)) : 0;
}
