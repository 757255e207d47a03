/**
 * The local Kafka trigger for `serverless offline start`: for every function with an `msk` or
 * `kafka` event it runs a PartitionReader (reader.ts) that does what the AWS event source mapping
 * does, and it invokes the functions named in custom.offline.schedules on a short timer (the idle
 * sweep, every few seconds instead of every minute).
 *
 * Functions run the way serverless-offline runs them: through its public `serverless-offline/lambda`
 * API (the same esbuild output, environment, worker threads and timeout as its own schedule and
 * HTTP events), in a Lambda pool of our own.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import {
  normaliseSettings,
  normaliseTriggers,
  type OfflineKafkaSettings,
  type TriggerDefinition,
} from './definition.ts';
import { type Invoke, type Logger, PartitionReader } from './reader.ts';

/** The parts of osls's `serverless` object the plugin reads. */
interface Serverless {
  service: {
    service: string;
    provider: { stage: string; region: string };
    custom?: Record<string, unknown>;
    getAllFunctions(): string[];
    getFunction(key: string): {
      events?: unknown[];
      handler?: string;
      name?: string;
      environment?: Record<string, unknown>;
    };
  };
}

interface ServerlessLambda {
  create(lambdas: { functionKey: string; functionDefinition: unknown }[]): void;
  get(functionKey: string): { setEvent(event: unknown): void; runHandler(): Promise<unknown> };
  cleanup(): Promise<void>;
}

/** serverless-offline's options the Lambda runner reads (its defaults, config/defaultOptions.js). */
const LAMBDA_DEFAULTS = {
  localEnvironment: false,
  noTimeout: false,
  reloadHandler: false,
  terminateIdleLambdaTime: 60,
  useDocker: false,
  useInProcess: false,
  dockerReadOnly: true,
  dockerHost: 'localhost',
  layersDir: null,
  localLayers: {},
};

export class OfflineKafkaTrigger {
  readonly #serverless: Serverless;
  readonly #cliOptions: Record<string, unknown>;
  readonly #log: Logger;
  #readers: PartitionReader[] = [];
  #timers: NodeJS.Timeout[] = [];
  #lambda: ServerlessLambda | undefined;
  #stopped: Promise<void> | undefined;
  #stopping = false;
  #running = new Set<Promise<unknown>>();

  constructor(serverless: Serverless, cliOptions: Record<string, unknown>, log: Logger) {
    this.#serverless = serverless;
    this.#cliOptions = cliOptions;
    this.#log = log;
  }

  async start(): Promise<void> {
    const { service } = this.#serverless;
    const settings = normaliseSettings(service.custom?.offline);
    const context = {
      service: service.service,
      stage: service.provider.stage,
      region: service.provider.region,
    };
    const triggers: TriggerDefinition[] = [];
    for (const key of service.getAllFunctions()) {
      triggers.push(...normaliseTriggers(key, service.getFunction(key).events ?? [], context));
    }
    // In place, before serverless-offline creates its own pool (this plugin's init hook runs
    // first), so its `schedule` invocations see the same environment as ours.
    for (const key of service.getAllFunctions()) {
      const fn = service.getFunction(key);
      fn.environment = { ...(fn.environment ?? {}), ...settings.environment };
      // A function on our short timer does not also run on its `schedule` offline: that would be
      // a second caller doing the same work, and serverless-offline logs every such invocation.
      // One whose timer is 0 (off) does not run at all: serverless-offline would otherwise run it
      // on its cron, once a minute.
      if (settings.schedules[key] !== undefined && fn.events !== undefined) {
        fn.events = fn.events.filter((event) => !isScheduleEvent(event));
      }
    }
    const lambda = await this.#createLambda();
    const captureDir = settings.captureDir;
    if (captureDir !== undefined) await mkdir(captureDir, { recursive: true });
    let captured = 0;
    const invoke: Invoke = async (functionKey, event) => {
      if (captureDir !== undefined) {
        const file = join(
          captureDir,
          `${Date.now()}-${String(++captured).padStart(6, '0')}-${functionKey}.json`,
        );
        await writeFile(file, JSON.stringify(event));
      }
      return this.#track(runLambda(lambda, functionKey, event));
    };

    // Our own handlers: serverless-offline resolves on these too and then halts the process.
    process.once('SIGINT', () => void this.stop());
    process.once('SIGTERM', () => void this.stop());

    const kafka = new Kafka({
      clientId: `offline-${context.service}`,
      brokers: [...settings.brokers],
      // kafkajs's own errors (a lost connection, a crashed consumer, a rebalance) in the job's
      // output, one line each: a trigger that stops reading must say why.
      logLevel: logLevel.ERROR,
      logCreator:
        () =>
        ({ namespace, log }) => {
          const { message, error } = log as { message: string; error?: string };
          this.#log.warn(
            `kafkajs ${namespace}: ${message}${error && error !== message ? ` (${error})` : ''}`,
          );
        },
    });
    for (const trigger of triggers) {
      if (!trigger.enabled) {
        this.#log.info(`kafka trigger ${trigger.functionKey} <- ${trigger.topic}: disabled (enabled: false)`);
        continue;
      }
      const reader = new PartitionReader(kafka, trigger, settings, invoke, this.#log);
      this.#readers.push(reader);
      // Not awaited by the caller's lifecycle beyond start-up: a missing topic or a broker still
      // starting is retried here instead of failing `serverless offline start`.
      void reader.startUntilRunning();
    }
    this.#startSchedules(settings, lambda);
  }

  /** Stops fetching and timers, lets in-flight invocations finish, then frees the workers. */
  stop(): Promise<void> {
    if (this.#stopped !== undefined) return this.#stopped;
    this.#stopping = true;
    this.#stopped = (async () => {
      for (const t of this.#timers) clearTimeout(t);
      this.#log.info('kafka trigger: stopping (in-flight batches finish or stay uncommitted)');
      await Promise.all(this.#readers.map((r) => r.stop()));
      await Promise.allSettled([...this.#running]);
      await this.#lambda?.cleanup().catch(() => undefined);
      this.#log.info('kafka trigger: stopped');
    })();
    return this.#stopped;
  }

  #startSchedules(settings: OfflineKafkaSettings, lambda: ServerlessLambda): void {
    const { service } = this.#serverless;
    const known = new Set(service.getAllFunctions());
    for (const [functionKey, seconds] of Object.entries(settings.schedules)) {
      if (!known.has(functionKey)) {
        this.#log.warn(`custom.offline.schedules.${functionKey}: no such function`);
        continue;
      }
      if (seconds === 0) {
        this.#log.info(`schedule ${functionKey}: off (custom.offline.schedules.${functionKey} is 0)`);
        continue;
      }
      this.#log.info(`schedule ${functionKey}: every ${seconds} s (offline, instead of its schedule event)`);
      // A timeout chain, not setInterval: one invocation at a time, the next after it ends.
      const tick = async () => {
        if (this.#stopping) return;
        try {
          await this.#track(runLambda(lambda, functionKey, scheduleEvent(service.provider.region)));
        } catch (error) {
          this.#log.warn(
            `schedule ${functionKey} failed: ${error instanceof Error ? error.message : String(error)}`,
          );
        }
        if (!this.#stopping) this.#timers.push(setTimeout(tick, seconds * 1000));
      };
      this.#timers.push(setTimeout(tick, seconds * 1000));
    }
  }

  async #createLambda(): Promise<ServerlessLambda> {
    const { default: Lambda } = await import('serverless-offline/lambda');
    const { service } = this.#serverless;
    // The same options serverless-offline uses: its defaults, custom['serverless-offline'] (where
    // serverless-esbuild puts the build location), the command line.
    const options = {
      ...LAMBDA_DEFAULTS,
      ...((service.custom?.['serverless-offline'] as object | undefined) ?? {}),
      ...this.#cliOptions,
    };
    const lambda = new Lambda(this.#serverless, options) as ServerlessLambda;
    lambda.create(
      service.getAllFunctions().map((functionKey) => ({
        functionKey,
        functionDefinition: service.getFunction(functionKey),
      })),
    );
    this.#lambda = lambda;
    return lambda;
  }

  #track<T>(promise: Promise<T>): Promise<T> {
    this.#running.add(promise);
    void promise.then(
      () => this.#running.delete(promise),
      () => this.#running.delete(promise),
    );
    return promise;
  }
}

async function runLambda(lambda: ServerlessLambda, functionKey: string, event: unknown): Promise<unknown> {
  const fn = lambda.get(functionKey);
  fn.setEvent(event);
  return fn.runHandler();
}

function isScheduleEvent(event: unknown): boolean {
  return typeof event === 'object' && event !== null && 'schedule' in event;
}

/** The EventBridge scheduled event, as serverless-offline's schedule events send it. */
function scheduleEvent(region: string): Record<string, unknown> {
  return {
    version: '0',
    id: crypto.randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: '000000000000',
    time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region,
    resources: [],
    detail: {},
  };
}
