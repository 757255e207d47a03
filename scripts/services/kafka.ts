import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type Admin, type ITopicConfig, Kafka, logLevel } from 'kafkajs';
import { sleep } from '../../lib/shared/index.ts';
import { ensureJars } from './maven.ts';
import { paths } from './paths.ts';
import { runningPid, startDetached, stopProcess, waitUntilReady } from './processes.ts';
import { hostPort, type ServiceSettings } from './settings.ts';

const SERVICE = 'kafka';

export function ensureKafkaJars(): void {
  ensureJars('Apache Kafka 3.9.1', paths.kafkaPom, paths.kafkaLibs);
}

function classpath(): string {
  return path.join(paths.kafkaLibs, '*');
}

/**
 * A single-node KRaft broker (broker and controller in one process) on `broker` (host:port; the
 * controller listens on port + 1), its log in `dataDir`, which is kept across restarts.
 */
export function serverProperties(settings: ServiceSettings, dataDir = paths.kafkaData): string {
  const { host, port } = hostPort(settings.kafkaBrokers[0] ?? '127.0.0.1:9092');
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@${host}:${port + 1}`,
    `listeners=PLAINTEXT://${host}:${port},CONTROLLER://${host}:${port + 1}`,
    `advertised.listeners=PLAINTEXT://${host}:${port}`,
    'controller.listener.names=CONTROLLER',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    'inter.broker.listener.name=PLAINTEXT',
    `log.dirs=${dataDir}`,
    `num.partitions=${settings.topicPartitions}`,
    // One broker: internal topics cannot have more replicas than that.
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=10',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'share.coordinator.state.topic.replication.factor=1',
    // Tests create a consumer group each; do not wait 3 s for more members to join.
    'group.initial.rebalance.delay.ms=0',
    // The reference lab lets the console producer create the topic on first use.
    'auto.create.topics.enable=true',
    '',
  ].join('\n');
}

/**
 * A kafkajs client for the local brokers. `retries: 0` suits a readiness probe; everything else
 * keeps kafkajs's retries: right after the broker starts, the first consumer group waits for
 * __consumer_offsets to be created and its first join attempts fail with a retriable error.
 */
export function kafkaClient(
  settings: ServiceSettings,
  clientId = 'sessionizer-services',
  retries = 5,
): Kafka {
  return new Kafka({
    clientId,
    brokers: settings.kafkaBrokers,
    logLevel: logLevel.NOTHING,
    retry: { retries },
  });
}

/** True when a broker answers a metadata request. */
export async function kafkaAnswers(settings: ServiceSettings): Promise<boolean> {
  const admin = kafkaClient(settings, 'sessionizer-probe', 0).admin();
  try {
    await admin.connect();
    await admin.listTopics();
    return true;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

export async function startKafka(settings: ServiceSettings): Promise<'started' | 'running' | 'external'> {
  let pid = runningPid(SERVICE);
  let state: 'started' | 'running' | 'external' = 'running';
  if (pid === null) {
    if (await kafkaAnswers(settings)) {
      state = 'external';
    } else {
      ensureKafkaJars();
      pid = launch(settings);
      state = 'started';
    }
  }
  const ready = () => waitUntilReady(SERVICE, () => kafkaAnswers(settings), { pid, timeoutMs: 90_000 });
  await ready().catch(async (error: unknown) => {
    if (state !== 'started') throw error;
    // One more start before giving up (the error names the log): a broker that died at once, e.g.
    // on a port a previous one was still releasing, usually starts the second time.
    await stopProcess(SERVICE, 5_000);
    pid = launch(settings);
    await ready();
  });
  await ensureTopic(settings);
  return state;
}

function launch(settings: ServiceSettings): number {
  formatKafkaStorage(settings, paths.kafkaData, paths.kafkaConfig);
  return startDetached(SERVICE, 'java', kafkaServerArgs(paths.kafkaConfig));
}

/**
 * Writes the broker's configuration and, the first time only, formats its log directory with a
 * new cluster id (KRaft needs one). A directory that holds data keeps it: topics, records and
 * consumer group offsets survive a restart, as they do on a real cluster.
 */
export function formatKafkaStorage(settings: ServiceSettings, dataDir: string, configFile: string): void {
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(configFile, serverProperties(settings, dataDir));
  if (existsSync(path.join(dataDir, 'meta.properties'))) return;
  // The id is base64url, so it may start with '-': passed as --cluster-id=<id>, it is never taken
  // for an option (kafka-storage: "argument --cluster-id/-t: expected one argument").
  const clusterId = randomBytes(16).toString('base64url');
  const format = spawnSync(
    'java',
    [
      `-Dlog4j.configuration=file:${paths.kafkaLog4j}`,
      '-cp',
      classpath(),
      'kafka.tools.StorageTool',
      'format',
      `--cluster-id=${clusterId}`,
      '--config',
      configFile,
    ],
    { encoding: 'utf8' },
  );
  if (format.status !== 0) {
    throw new Error(`Formatting the Kafka log directory failed:\n${format.stdout}\n${format.stderr}`);
  }
}

/** The JVM command line of a broker with this configuration file. */
export function kafkaServerArgs(configFile: string): string[] {
  return [
    '-Xms512m',
    '-Xmx1g',
    '-XX:+UseG1GC',
    '-Djava.awt.headless=true',
    `-Dlog4j.configuration=file:${paths.kafkaLog4j}`,
    '-cp',
    classpath(),
    'kafka.Kafka',
    configFile,
  ];
}

/** How long createTopicsAndWait waits for every partition to have a leader. */
const TOPIC_READY_MS = 60_000;

/**
 * admin.createTopics, then a wait until every partition of the topics has a leader; what
 * createTopics said (false: a topic was there already). kafkajs's own `waitForLeaders` retries only
 * LEADER_NOT_AVAILABLE, but a broker whose metadata has not caught up with the controller yet (a
 * loaded machine) answers UNKNOWN_TOPIC_OR_PARTITION for a topic it has just created, and kafkajs
 * gives up with "This server does not host this topic-partition" (seen in CI: two chaos
 * experiments failed at set-up). So kafkajs's wait is off (`waitForLeaders: false`: it is on by
 * default, which is how the failure came back once more in CI), and here any metadata error is
 * retried until the deadline, then thrown.
 */
export async function createTopicsAndWait(admin: Admin, topics: ITopicConfig[]): Promise<boolean> {
  const created = await admin.createTopics({ topics, waitForLeaders: false });
  const names = topics.map((t) => t.topic);
  const deadline = Date.now() + TOPIC_READY_MS;
  for (;;) {
    let why: string;
    try {
      const { topics: found } = await admin.fetchTopicMetadata({ topics: names });
      // A topic that was there already may have other partitions than asked (the caller's business,
      // e.g. scripts/job/reset.ts): only its leaders are waited for.
      const ready = topics.every((t) => {
        const partitions = found.find((f) => f.name === t.topic)?.partitions ?? [];
        const wanted = created ? (t.numPartitions ?? 1) : 1;
        return partitions.length >= wanted && partitions.every((p) => p.leader >= 0);
      });
      if (ready) return created;
      why = 'a partition has no leader yet';
    } catch (error) {
      why = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() > deadline) {
      throw new Error(`Kafka topics ${names.join(', ')} not ready after ${TOPIC_READY_MS} ms: ${why}`);
    }
    await sleep(100);
  }
}

/** Creates the job's topic (partition count from KAFKA_TOPIC_PARTITIONS) when it does not exist. */
export async function ensureTopic(settings: ServiceSettings): Promise<void> {
  const admin = kafkaClient(settings).admin();
  await admin.connect();
  try {
    const topics = await admin.listTopics();
    if (!topics.includes(settings.topic)) {
      await createTopicsAndWait(admin, [
        { topic: settings.topic, numPartitions: settings.topicPartitions, replicationFactor: 1 },
      ]);
    }
  } finally {
    await admin.disconnect();
  }
}

/** Stops the broker we started; its data stays (services:wipe deletes it). */
export async function stopKafka(): Promise<boolean> {
  return stopProcess(SERVICE, 30_000);
}
