import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Resolves a pom's runtime dependencies from Maven Central into `libsDir` (once: a marker file
 * holds the pom's hash, so editing a version re-fetches). Maven's own cache (~/.m2) makes a
 * second clone on the same machine fast.
 */
export function ensureJars(name: string, pom: string, libsDir: string): void {
  const marker = path.join(libsDir, '.complete');
  const hash = createHash('sha256').update(readFileSync(pom)).digest('hex');
  if (existsSync(marker) && readFileSync(marker, 'utf8') === hash) return;

  console.log(`Fetching ${name} from Maven Central into ${libsDir} (first run only)...`);
  rmSync(libsDir, { recursive: true, force: true });
  mkdirSync(libsDir, { recursive: true });
  runMaven(
    `fetching ${name}`,
    pom,
    ['dependency:copy-dependencies', `-DoutputDirectory=${libsDir}`, '-DincludeScope=runtime'],
    true,
  );
  writeFileSync(marker, hash);
}

/**
 * Runs Maven in batch mode, quietly, on `pom` with `goals`. `inherit`: its output goes to this
 * process's (a first fetch shows what it downloads); otherwise it is kept and shown only when it
 * fails (the bench's progress line and summary stay clean).
 */
export function runMaven(what: string, pom: string, goals: readonly string[], inherit = false): void {
  const result = spawnSync('mvn', ['-B', '-q', '-Dstyle.color=never', '-f', pom, ...goals], {
    encoding: 'utf8',
    stdio: inherit ? 'inherit' : ['ignore', 'pipe', 'pipe'],
  });
  if (result.error)
    throw new Error(`Cannot run Maven (mvn) ${what}: ${result.error.message}. Install Apache Maven.`);
  if (result.status !== 0) {
    const output = inherit ? 'see its output above' : `\n${result.stdout}${result.stderr}`;
    throw new Error(`Maven failed (exit ${result.status}) ${what}: ${output}`);
  }
}
