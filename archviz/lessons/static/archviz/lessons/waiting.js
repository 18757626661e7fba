// Pure helpers of the lesson panel: where a learner resumes, and what a wait says.

/** The step to show: the one in progress, the one after it once it is met (the step count
 * means "try it yourself"), or the first for a learner who has not started. */
export function resumeAt(progress, stepCount) {
  if (progress.step < 0) return 0;
  const met = (progress.met || []).includes(progress.step);
  return Math.min(met ? progress.step + 1 : progress.step, stepCount);
}

/** A figure as the panel shows it. */
export function shown(value) {
  if (typeof value !== "number") return String(value);
  return Number.isInteger(value) || Math.abs(value) >= 100 ? value.toFixed(0) : value.toFixed(1);
}

/** The wait in words, from the watch endpoint's answer. */
export function waitWords(step, answer) {
  if (!step.until.length) return "";
  const wanted = step.until.map((c) => c.words).join("; and ");
  if (answer.met) return `Seen: ${wanted}.`;
  const now = step.until
    .map((c) => (c.figure in answer.figures ? shown(answer.figures[c.figure]) : "?"))
    .join(", ");
  const left = Math.max(0, Math.round(step.within_s - answer.elapsed_s));
  if (answer.timed_out) return `Not seen within ${Math.round(step.within_s)} s: ${wanted} (now ${now}). Run the step again.`;
  return `Waiting for ${wanted} (now ${now}; ${left} s left)…`;
}
