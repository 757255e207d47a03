/**
 * Kafka brokers and DynamoDB Local servers of a chaos experiment's own, on free ports with their
 * own data folders, so that an experiment can kill and restart them without touching the services
 * every other test shares. Started from the same jars and with the same settings as
 * `npm run services:up` (scripts/services/).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { dynamoAnswers, dynamoArgs } from '../services/dynamodb.ts';
import { ensureKafkaJars, formatKafkaStorage, kafkaAnswers, kafkaServerArgs } from '../services/kafka.ts';
import { ensureJars } from '../services/maven.ts';
import { paths, SERVICES_DIR } from '../services/paths.ts';
import { type ServiceSettings, serviceSettings } from '../services/settings.ts';

/** Where instances keep their data and logs: .services/chaos/<name>/. */
export function instanceDir(name: string): string {
  return path.join(SERVICES_DIR, 'chaos', name);
}

/**
 * A port that is free now, and (with `pair`) the one after it too (Kafka's controller), below the
 * kernel's ephemeral range: a port in that range that is free when checked can be taken by any
 * outgoing connection before the service binds it (CI, 2026-12-05: a chaos broker's "Address
 * already in use" on 37574, between 32768 and 60999).
 */
export async function freePort(pair = false): Promise<number> {
  const below = ephemeralLow();
  for (;;) {
    const port = 10_000 + Math.floor(Math.random() * (below - 10_001));
    if ((await isFree(port)) && (!pair || (await isFree(port + 1)))) return port;
  }
}

/** The first port of the kernel's ephemeral range (Linux), or Linux's default where it cannot be read. */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 12_000 ? low : 32_768;
  } catch {
    return 32_768;
  }
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** Starts of a new instance, each on another port, when its port was taken before the JVM bound it. */
const BIND_ATTEMPTS = 3;

/** How long one probe of a starting instance may take before it counts as no answer. */
const ANSWER_WAIT_MS = 2000;

/** Where a port comes from: freePort by default, a test's own list otherwise. */
export type PortSource = () => Promise<number>;

/**
 * A new instance started on a port that was free when checked. A port below the ephemeral range
 * can still be bound by another process between the check and the JVM's bind (a service that
 * picks its own port): the instance then logs "Address already in use" (Kafka exits, DynamoDB Local
 * may stay up without listening), and the start is tried again, from scratch, on another port.
 */
async function startOnFreePort<T extends Instance>(make: (port: number) => T, ports: PortSource): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const instance = make(await ports());
    try {
      await instance.start();
      return instance;
    } catch (error) {
      const taken = instance.portTaken();
      await instance.destroy();
      if (!taken || attempt >= BIND_ATTEMPTS) throw error;
    }
  }
}

/** One JVM service: started, killed (any signal) and started again on the same data. */
abstract class Instance {
  private child: ChildProcess | undefined;
  private exited: Promise<void> | undefined;
  /** Where this start's lines begin in the log, which every start of the instance appends to. */
  private logFrom = 0;

  constructor(
    readonly name: string,
    readonly dir: string,
  ) {}

  protected abstract args(): string[];
  protected abstract answers(): Promise<boolean>;

  private get logFile(): string {
    return path.join(this.dir, `${this.name}.log`);
  }

  async start(timeoutMs = 120_000): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    this.logFrom = existsSync(this.logFile) ? statSync(this.logFile).size : 0;
    const log = openSync(this.logFile, 'a');
    const child = spawn('java', this.args(), { stdio: ['ignore', log, log] });
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      // Kafka exits on its BindException; DynamoDB Local logs it and may stay up without listening.
      if (this.portTaken()) {
        await this.kill();
        throw new Error(`${this.name}: its port was taken before it bound it; log: ${this.dir}`);
      }
      if (child.exitCode !== null) throw new Error(`${this.name} exited at start; log: ${this.dir}`);
      // Bounded: whatever took the port may accept a connection and never answer.
      if (await Promise.race([this.answers(), delay(ANSWER_WAIT_MS, false)])) return;
      if (Date.now() > deadline)
        throw new Error(`${this.name} did not answer in ${timeoutMs} ms; log: ${this.dir}`);
      await delay(250);
    }
  }

  /** Whether the JVM said, since its last start, that its port was taken (Kafka's and Jetty's BindException). */
  portTaken(): boolean {
    return (
      existsSync(this.logFile) &&
      readFileSync(this.logFile).subarray(this.logFrom).includes('Address already in use')
    );
  }

  /** Kills the process (SIGKILL by default: no shutdown hooks) and waits until it is gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    await this.exited;
  }

  /** Stops the process and deletes its data. */
  async destroy(): Promise<void> {
    await this.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export class KafkaInstance extends Instance {
  readonly settings: ServiceSettings;

  private constructor(name: string, port: number) {
    super(name, instanceDir(name));
    this.settings = { ...serviceSettings(), kafkaBrokers: [`127.0.0.1:${port}`] };
  }

  static async start(name: string, ports: PortSource = () => freePort(true)): Promise<KafkaInstance> {
    ensureKafkaJars();
    return startOnFreePort((port) => {
      const instance = new KafkaInstance(name, port);
      formatKafkaStorage(instance.settings, path.join(instance.dir, 'data'), instance.configFile);
      return instance;
    }, ports);
  }

  get brokers(): string {
    return this.settings.kafkaBrokers.join(',');
  }

  private get configFile(): string {
    return path.join(this.dir, 'server.properties');
  }

  protected args(): string[] {
    return kafkaServerArgs(this.configFile);
  }

  protected answers(): Promise<boolean> {
    return kafkaAnswers(this.settings);
  }
}

export class DynamoInstance extends Instance {
  readonly settings: ServiceSettings;
  private readonly port: number;

  private constructor(name: string, port: number) {
    super(name, instanceDir(name));
    this.port = port;
    this.settings = { ...serviceSettings(), dynamodbEndpoint: `http://127.0.0.1:${port}` };
  }

  static async start(name: string, ports: PortSource = () => freePort()): Promise<DynamoInstance> {
    ensureJars('DynamoDB Local 3.1.0', paths.dynamodbPom, paths.dynamodbLibs);
    return startOnFreePort((port) => new DynamoInstance(name, port), ports);
  }

  get endpoint(): string {
    return this.settings.dynamodbEndpoint;
  }

  /** Deletes the data while the server is down: the next start begins with no tables at all. */
  wipeData(): void {
    rmSync(path.join(this.dir, 'data'), { recursive: true, force: true });
  }

  protected args(): string[] {
    return dynamoArgs(this.port, path.join(this.dir, 'data'));
  }

  protected answers(): Promise<boolean> {
    return dynamoAnswers(this.settings);
  }
}
