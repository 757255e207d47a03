import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO } from './package.ts';
import type { ZipEntry } from './zip.ts';

/** The modules a bundle imports statically (`import ... from "x"`, `import "x"`). */
export function staticImports(code: string): string[] {
  const found = new Set<string>();
  // Not preceded by a word character, '$', '.', '-' or a quote: "eslint-plugin-import" in a bundled
  // package.json is no import, nor protobufjs's parser's `case "import":`.
  for (const [, specifier] of code.matchAll(
    /(?<![\w$.\-"'`])import\s*(?:[\w$*{}\s,]*?\bfrom\s*)?["']([^"']+)["']/g,
  )) {
    if (specifier !== undefined) found.add(specifier);
  }
  return [...found].sort();
}

/** What the Lambda runtime provides: Node's built-ins and AWS SDK v3. */
export function providedByRuntime(specifier: string): boolean {
  return (
    specifier.startsWith('node:') || builtinModules.includes(specifier) || specifier.startsWith('@aws-sdk/')
  );
}

export interface LoadResult {
  readonly ok: boolean;
  readonly output: string;
}

/**
 * Unzips a function's files into a temp folder and imports its handler module in a fresh Node
 * with the given environment, as the Lambda runtime does at cold start. node_modules is linked
 * in only so that the AWS SDK, which the runtime provides, resolves.
 */
export async function loadHandler(
  entries: readonly ZipEntry[],
  handlerFile: string,
  env: Record<string, string>,
): Promise<LoadResult> {
  const root = mkdtempSync(join(tmpdir(), 'sessionizer-bundle-'));
  try {
    for (const entry of entries) {
      const path = join(root, entry.name);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, entry.data());
    }
    symlinkSync(join(REPO, 'node_modules'), join(root, 'node_modules'), 'dir');
    const script = [
      `const m = await import(${JSON.stringify(pathToFileURL(join(root, handlerFile)).href)});`,
      `console.log('handler:' + typeof m.handler);`,
      'process.exit(0);',
    ].join('\n');
    return await new Promise((resolve) => {
      execFile(
        process.execPath,
        ['--input-type=module', '-e', script],
        { cwd: root, env: { PATH: process.env.PATH ?? '', ...env }, timeout: 30_000 },
        (error, stdout, stderr) => resolve({ ok: error === null, output: `${stdout}${stderr}` }),
      );
    });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
