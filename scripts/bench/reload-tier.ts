/**
 * A cold container's reload of one big partition (issue 11): the handler builds a partition with
 * `users` live users (every user one pending session: all events within 4 s, none fires), then one
 * small batch is handled by a new container (nothing in memory: it reads the table's generation,
 * the partition item and every piece of the state, and rebuilds the engine) and by the container
 * that wrote the state (warm: nothing is read back). Time and DynamoDB units of both.
 */
import type { KafkaRecord } from '../../lib/decode/index.ts';
import { createWarmState, handleKafkaEvent, type PipelineDeps } from '../../lib/pipeline/index.ts';
import { buildKafkaEvent } from '../../offline/build-event.ts';
import { childOptions, peakRssMb, progress, report } from './protocol.ts';
import { openWorkspace } from './workspace.ts';

export interface ReloadOptions {
  readonly users: number;
}

export interface ReloadPath {
  readonly ms: number;
  readonly dynamodbMs: number;
  readonly readUnits: number;
  readonly itemsRead: number;
  readonly kbRead: number;
}

export interface ReloadResult {
  readonly users: number;
  readonly liveSessions: number;
  readonly stateKb: number;
  readonly pieces: number;
  readonly cold: ReloadPath;
  readonly warm: ReloadPath;
  readonly peakRssMb: number;
}

const options = childOptions<ReloadOptions>();
const TOPIC = 'bench_reload';
const T0 = 1_700_000_000_000;

function event(values: readonly [string, number][], firstOffset: number) {
  return buildKafkaEvent({
    eventSource: 'SelfManagedKafka',
    bootstrapServers: ['b-1.bench:9092'],
    records: values.map(
      ([user, t], i): KafkaRecord => ({
        topic: TOPIC,
        partition: 0,
        offset: firstOffset + i,
        timestamp: t,
        timestampType: 'CREATE_TIME',
        key: null,
        value: Buffer.from(`${user},${t}`),
        headers: [],
      }),
    ),
  });
}

const ws = await openWorkspace('reload');
try {
  let offset = 0;
  for (let from = 0; from < options.users; from += 10_000) {
    const batch: [string, number][] = [];
    for (let u = from; u < Math.min(options.users, from + 10_000); u++)
      batch.push([`user_${u}`, T0 + (u % 4000)]);
    await handleKafkaEvent(ws.deps, event(batch, offset));
    offset += batch.length;
    progress('reload: building the partition', offset, options.users, 'users');
  }

  const measure = async (deps: PipelineDeps, at: number): Promise<ReloadPath> => {
    const stats = deps.store.stats;
    const before = { ...stats };
    const started = performance.now();
    const [outcome] = await handleKafkaEvent(deps, event([[`user_new_${at}`, T0 + 100]], at));
    return {
      ms: performance.now() - started,
      dynamodbMs: outcome?.dynamodbMs ?? 0,
      readUnits: stats.readUnits - before.readUnits,
      itemsRead: stats.itemsRead - before.itemsRead,
      kbRead: (stats.bytesRead - before.bytesRead) / 1024,
    };
  };
  const checkpoint = await ws.deps.store.readPartition(TOPIC, 0);
  // Warm first: the container that built the partition still holds its committed state.
  const warm = await measure(ws.deps, offset);
  const cold = await measure({ ...ws.deps, warm: createWarmState() }, offset + 1);
  const refs = [checkpoint?.manifest.snapshot, ...(checkpoint?.manifest.journal ?? [])].filter(
    (r) => r != null,
  );
  await report({
    users: options.users,
    liveSessions: checkpoint?.stats.liveSessions ?? 0,
    stateKb: refs.reduce((n, r) => n + r.bytes, 0) / 1024,
    pieces: refs.reduce((n, r) => n + r.pieces, 0),
    cold,
    warm,
    peakRssMb: peakRssMb(),
  } satisfies ReloadResult);
} finally {
  await ws.close();
}
