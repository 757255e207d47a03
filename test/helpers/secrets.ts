import { inspect } from 'node:util';
import { expect } from 'vitest';

/**
 * Asserts that `secret` appears nowhere an error could carry it into a log: its message, its
 * stack, its string form, any property (what util.inspect prints, as loggers do), and the same for
 * every error of its cause chain.
 */
export function expectNoSecret(error: unknown, secret: string): void {
  expect(error).toBeInstanceOf(Error);
  const seen = new Set<unknown>();
  let current: unknown = error;
  while (current !== undefined && current !== null && !seen.has(current)) {
    seen.add(current);
    const texts =
      current instanceof Error
        ? [current.message, current.stack ?? '', String(current), inspect(current, { depth: 10 })]
        : [inspect(current, { depth: 10 })];
    for (const text of texts) expect(text).not.toContain(secret);
    current = current instanceof Error ? current.cause : undefined;
  }
}

/** The error `run` throws or rejects with (fails when it returns). */
export async function caught(run: () => unknown): Promise<Error> {
  try {
    await run();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error');
}
