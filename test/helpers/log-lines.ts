import { vi } from 'vitest';

/**
 * The JSON lines the job logs from now on (Powertools Logger writes warnings and errors to stderr,
 * the rest to stdout; EMF metric lines are JSON too), captured instead of printed. Other output
 * passes through. vi.restoreAllMocks() stops the capture.
 */
export function captureLogLines(): Record<string, unknown>[] {
  const lines: Record<string, unknown>[] = [];
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as (chunk: string | Uint8Array, ...rest: unknown[]) => boolean;
    vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array, ...rest: unknown[]) => {
      const text = String(chunk);
      if (!text.startsWith('{')) return write(chunk, ...rest);
      lines.push(JSON.parse(text) as Record<string, unknown>);
      return true;
    });
  }
  return lines;
}
