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
  const result = spawnSync(
    'mvn',
    [
      '-B',
      '-q',
      '-Dstyle.color=never',
      '-f',
      pom,
      'dependency:copy-dependencies',
      `-DoutputDirectory=${libsDir}`,
      '-DincludeScope=runtime',
    ],
    { stdio: 'inherit' },
  );
  if (result.error) {
    throw new Error(
      `Cannot run Maven (mvn) to fetch ${name}: ${result.error.message}. Install Apache Maven.`,
    );
  }
  if (result.status !== 0) {
    throw new Error(`Maven failed (exit ${result.status}) fetching ${name}; see its output above.`);
  }
  writeFileSync(marker, hash);
}
