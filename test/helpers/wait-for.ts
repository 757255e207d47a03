import { setTimeout as delay } from 'node:timers/promises';

/**
 * Polls `probe` until it returns a value that is not undefined/false, instead of sleeping a
 * guessed time. Fails with `description` and the last value seen after `timeoutMs`.
 */
export async function waitFor<T>(
  description: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  { timeoutMs = 30_000, intervalMs = 100 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
      last = value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${description} (last: ${String(last)})`);
    }
    await delay(intervalMs);
  }
}
