import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { logFile, paths, pidFile } from './paths.ts';

/** Pid of a process we started, if its pid file exists and the process is alive. */
export function runningPid(service: string): number | null {
  const file = pidFile(service);
  if (!existsSync(file)) return null;
  const pid = Number.parseInt(readFileSync(file, 'utf8'), 10);
  return Number.isSafeInteger(pid) && isAlive(pid) ? pid : null;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts a long-running program detached, in its own process group, with stdout and stderr
 * appended to .services/logs/<service>.log, and records its pid.
 */
export function startDetached(service: string, command: string, args: string[]): number {
  mkdirSync(paths.run, { recursive: true });
  mkdirSync(paths.logs, { recursive: true });
  const log = openSync(logFile(service), 'a');
  const child = spawn(command, args, { detached: true, stdio: ['ignore', log, log] });
  if (child.pid === undefined) throw new Error(`Could not start ${service} (${command}).`);
  child.unref();
  writeFileSync(pidFile(service), String(child.pid));
  return child.pid;
}

/** SIGTERM to the process group, SIGKILL after `graceMs`; removes the pid file. */
export async function stopProcess(service: string, graceMs = 20_000): Promise<boolean> {
  const pid = runningPid(service);
  rmSync(pidFile(service), { force: true });
  if (pid === null) return false;
  signalGroup(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await delay(100);
  if (isAlive(pid)) {
    signalGroup(pid, 'SIGKILL');
    while (isAlive(pid)) await delay(50);
  }
  return true;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }
}

/** The last lines of a service's log, for error messages. */
export function logTail(service: string, lines = 30): string {
  const file = logFile(service);
  if (!existsSync(file)) return '(no log yet)';
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

/**
 * Polls `probe` until it resolves true. Fails early, naming the log, when the process we
 * started has exited; fails after `timeoutMs` otherwise.
 */
export async function waitUntilReady(
  service: string,
  probe: () => Promise<boolean>,
  options: { pid: number | null; timeoutMs: number },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (options.pid !== null && !isAlive(options.pid)) {
      rmSync(pidFile(service), { force: true });
      throw new Error(
        `${service} exited during start-up. Log: ${logFile(service)}\n--- last lines ---\n${logTail(service)}`,
      );
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${service} did not answer within ${options.timeoutMs / 1000}s. Log: ${logFile(service)}\n` +
          `--- last lines ---\n${logTail(service)}`,
      );
    }
    await delay(250);
  }
}
