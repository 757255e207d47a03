/**
 * What the npm scripts share on the command line: `node:util` parseArgs errors and bad numbers
 * become a usage message (exit 2), any other error its message (exit 1), and a module runs its
 * main only when it is the script itself (tests import the rest).
 */
import { pathToFileURL } from 'node:url';

/** Wrong arguments: printed with a pointer to --help, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** True when the module at `moduleUrl` is the script node was started with. */
export function isMain(moduleUrl: string): boolean {
  return process.argv[1] !== undefined && moduleUrl === pathToFileURL(process.argv[1]).href;
}

/** A whole number from an option's text, or a UsageError naming the option. */
export function wholeNumber(option: string, raw: string, min = 0): number {
  const value = Number(raw.trim());
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < min) {
    throw new UsageError(`--${option} must be a whole number >= ${min}, got "${raw}"`);
  }
  return value;
}

/** Runs a script's main and turns its outcome into the exit code. */
export function runMain(command: string, main: () => Promise<number | undefined>): void {
  main().then(
    (code) => {
      process.exitCode = code ?? 0;
    },
    (error: unknown) => {
      const usage =
        error instanceof UsageError || (error as { code?: string })?.code?.startsWith('ERR_PARSE_ARGS');
      console.error(`${command}: ${error instanceof Error ? error.message : String(error)}`);
      if (usage) console.error(`${command} -- --help lists the options.`);
      process.exitCode = usage ? 2 : 1;
    },
  );
}
