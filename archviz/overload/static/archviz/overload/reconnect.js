// How a client waits before reconnecting, by the lab's reconnect policy: the exact mirror of
// reconnect_delay_ms in archviz/core/reconnect.py, so bots and learners' tabs behave alike
// (tests/overload/test_reconnect_mirror.py runs both on the same random numbers). Pure: the
// caller passes the random source, a function returning a number in [0, 1).
//
// full_jitter is "Exponential Backoff And Jitter" (AWS Architecture Blog, 2015): a random
// delay between 0 and the exponential ceiling, which spreads a herd shed together over the
// whole window instead of bringing it back in waves. The node's hint (its retry_after_ms) is
// a floor on the window: full jitter spreads over all of it, fixed and exponential come back
// at its end (a later herd), immediate is the naive client that ignores it.

export const RECONNECT_POLICIES = Object.freeze(["immediate", "fixed", "exponential", "full_jitter"]);

export const DEFAULT_BACKOFF = Object.freeze({ baseMs: 250, capMs: 8000, factor: 2 });

// A node's retry_after_ms past this is waited only this long (archviz/overload/reconnect.py's MAX_HINT_MS).
export const MAX_HINT_MS = 60_000;

export class UnknownPolicy extends Error {}

/** How long a client waits before its `attempt`-th reconnect (0 = the first), in ms, with the
 * node's hint `hintMs` a floor on the policy's window. */
export function reconnectDelayMs(policy, attempt, rng, backoff = DEFAULT_BACKOFF, hintMs = 0) {
  if (!RECONNECT_POLICIES.includes(policy)) {
    throw new UnknownPolicy(`unknown reconnect policy ${JSON.stringify(policy)}; use one of ${RECONNECT_POLICIES.join(", ")}`);
  }
  const { baseMs, capMs, factor } = { ...DEFAULT_BACKOFF, ...backoff };
  if (policy === "immediate") return 0;
  if (policy === "fixed") return Math.max(baseMs, hintMs);
  const ceiling = Math.min(capMs, baseMs * factor ** Math.max(0, attempt));
  const window = Math.max(ceiling, hintMs);
  return policy === "exponential" ? window : window * rng();
}

/** The backoff numbers of the lab state's reconnect policy ({policy, base_ms, cap_ms}). */
export function backoffOf(reconnect) {
  const base = Number(reconnect?.base_ms);
  const cap = Number(reconnect?.cap_ms);
  return {
    baseMs: Number.isFinite(base) ? base : DEFAULT_BACKOFF.baseMs,
    capMs: Number.isFinite(cap) ? cap : DEFAULT_BACKOFF.capMs,
    factor: DEFAULT_BACKOFF.factor,
  };
}
