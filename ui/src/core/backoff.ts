//! Reconnect delays, as the Rust client (`crates/client/src/backoff.rs`): exponential with full
//! jitter, so that a band whose Wi-Fi blips does not reconnect in lockstep. Unlike the Rust
//! client, the browser never gives up on its own: a phone that was in a pocket for five minutes
//! should be back in the band when it comes out (as a new participant if its resume expired).

export interface Backoff {
  /** The first delay's upper bound, ms. */
  initialMs: number;
  /** The largest delay, ms. */
  maxMs: number;
}

export const DEFAULT_BACKOFF: Backoff = { initialMs: 200, maxMs: 5000 };

/** The delay before attempt `n` (1-based): uniform in `[cap/2, cap]`, `cap = min(max, initial * 2^(n-1))`. */
export function backoffDelay(b: Backoff, attempt: number, unitRandom: number): number {
  const exp = b.initialMs * 2 ** Math.min(16, Math.max(0, attempt - 1));
  const cap = Math.min(exp, b.maxMs);
  return cap * (0.5 + 0.5 * Math.min(1, Math.max(0, unitRandom)));
}
