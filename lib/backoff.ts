import { setTimeout as delay } from 'node:timers/promises';

/**
 * Exponential backoff with full jitter (AWS's recommendation for throttling and UnprocessedItems):
 * a random wait in [0, min(capMs, baseMs * 2^attempt)).
 */
export function jitteredDelay(attempt: number, baseMs: number, capMs: number): number {
  return Math.random() * Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30));
}

/** Waits `ms`, or less when `signal` aborts (then it resolves, it does not throw). */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return;
  await delay(Math.max(0, ms), undefined, { signal }).catch((error: unknown) => {
    if ((error as Error).name !== 'AbortError') throw error;
  });
}
