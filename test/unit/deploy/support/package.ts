import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { evaluateTemplate, type Template, type TemplateJson } from './template.ts';
import { readZip, type ZipEntry } from './zip.ts';

export const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
const OSLS = join(REPO, 'node_modules', 'osls', 'bin', 'serverless.js');

/** Environment variables serverless.yml reads for the dev stage; cleared so a run sees only its own. */
const LOCAL_OVERRIDES = [
  'DYNAMODB_ENDPOINT',
  'DATABASE_URL',
  'CHECKPOINT_TABLE',
  'KAFKA_TOPIC',
  'LOG_LEVEL',
  'KAFKA_BROKERS',
];

export interface PackageOptions {
  readonly stage: 'dev' | 'prod';
  /** A params file, relative to the repo (e.g. examples/params.prod.yml) or absolute. */
  readonly paramsFile?: string;
  /** Keys written over the params file's, types kept (a temp copy is packaged). */
  readonly overrides?: Record<string, unknown>;
  /** Extra environment of the osls process. */
  readonly env?: Record<string, string>;
}

export interface Packaged {
  readonly dir: string;
  readonly raw: TemplateJson;
  readonly template: Template;
  readonly params: Record<string, unknown>;
  zip(functionName: string): { path: string; bytes: number; entries: ZipEntry[] };
  cleanUp(): void;
}

export class PackageError extends Error {
  constructor(
    message: string,
    readonly output: string,
  ) {
    super(message);
  }
}

/**
 * `osls package` as an operator runs it, without AWS credentials: into a temp folder (not the
 * repo's .serverless/) and with esbuild working in another temp folder, so it never disturbs a
 * `serverless offline` running from .esbuild/ at the same time.
 */
export async function packageService(options: PackageOptions): Promise<Packaged> {
  const dir = mkdtempSync(join(tmpdir(), 'sessionizer-package-'));
  const work = mkdtempSync(join(tmpdir(), 'sessionizer-esbuild-'));
  const cleanUp = () => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  };
  let params: Record<string, unknown> = {};
  let paramsFile: string | undefined;
  if (options.paramsFile !== undefined) {
    params = parse(readFileSync(join(REPO, options.paramsFile), 'utf8')) as Record<string, unknown>;
    paramsFile = options.paramsFile;
    if (options.overrides !== undefined) {
      params = { ...params, ...options.overrides };
      paramsFile = join(dir, 'params.yml');
      writeFileSync(paramsFile, stringify(params));
    }
  }
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
  for (const name of LOCAL_OVERRIDES) if (options.env?.[name] === undefined) delete env[name];
  // serverless-esbuild joins its work folder onto the service folder, so it is given relatively.
  env.SESSIONIZER_ESBUILD_WORK_FOLDER = relative(REPO, work);
  if (paramsFile === undefined) delete env.SESSIONIZER_PARAMS_FILE;
  else env.SESSIONIZER_PARAMS_FILE = paramsFile;

  try {
    await runOsls(['package', '--stage', options.stage, '--package', dir], env);
  } catch (error) {
    cleanUp();
    throw error;
  }
  const raw = JSON.parse(
    readFileSync(join(dir, 'cloudformation-template-update-stack.json'), 'utf8'),
  ) as TemplateJson;
  return {
    dir,
    raw,
    template: evaluateTemplate(raw),
    params,
    zip: (functionName) => {
      const path = join(dir, `${functionName}.zip`);
      const bytes = readFileSync(path).length;
      return { path, bytes, entries: readZip(path) };
    },
    cleanUp,
  };
}

/** Runs osls in the repo; rejects with its whole output when it exits non-zero. */
export function runOsls(args: readonly string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [OSLS, ...args],
      { cwd: REPO, env, timeout: 150_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const output = `${stdout}\n${stderr}`;
        if (error) reject(new PackageError(`osls ${args.join(' ')} failed: ${output}`, output));
        else resolve(output);
      },
    );
  });
}
