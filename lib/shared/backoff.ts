import { setTimeout as delay } from 'node:timers/promises';

/** Exponential backoff: min(capMs, baseMs * 2^attempt), the wait before retry number `attempt` + 1. */
export function exponentialDelay(attempt: number, baseMs: number, capMs: number): number {
  return Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30));
}

/**
 * Exponential backoff with full jitter (AWS's recommendation for throttling and UnprocessedItems):
 * a random wait in [0, exponentialDelay).
 */
export function jitteredDelay(attempt: number, baseMs: number, capMs: number): number {
  return Math.random() * exponentialDelay(attempt, baseMs, capMs);
}

/** Waits `ms`, or less when `signal` aborts (then it resolves, it does not throw). */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return;
  await delay(Math.max(0, ms), undefined, { signal }).catch((error: unknown) => {
    if ((error as Error).name !== 'AbortError') throw error;
  });
}
