// The time of day as every page writes it: 24-hour HH:MM:SS (or HH:MM), in the reader's
// own locale's digits.
const SECONDS = new Intl.DateTimeFormat([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
const MINUTES = new Intl.DateTimeFormat([], { hour: "2-digit", minute: "2-digit", hour12: false });

/** HH:MM:SS of `ts` (unix ms or a Date). */
export const clock = (ts) => SECONDS.format(new Date(ts));

/** HH:MM of `ts` (unix ms or a Date). */
export const clockMinutes = (ts) => MINUTES.format(new Date(ts));
