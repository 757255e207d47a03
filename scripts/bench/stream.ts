/**
 * The benchmark's input: a seeded, reproducible stream of user activity events, and what the
 * engine says it must produce (the rows, and for each row the record whose watermark closed it).
 *
 * Shape: `users` users picked uniformly at random; a global clock advancing G / users per event,
 * so a user's gaps are exponential with mean G ("gaps around G": about 63 % join the session,
 * 37 % open a new one); each event lies up to B behind the clock (disorder within B: none late).
 */
import { readFile, writeFile } from 'node:fs/promises';
import {
  type EngineConfig,
  type EventRecord,
  fold,
  groupKey,
  initialPartitionState,
} from '../../lib/engine/index.ts';

export const BENCH_ENGINE: EngineConfig = {
  gapMs: 5000,
  outOfOrdernessMs: 1000,
  allowedLatenessMs: 0,
  // The bench sends no ticks; its rows are those of the records alone.
  idleFlush: false,
};

/** Event times of generated streams start here (2023-11-14), far from the wall clock. */
export const STREAM_EPOCH_MS = 1_700_000_000_000;

/** Events in send order: user index, event time, partition, and (once sent) the send and ack times. */
export interface Stream {
  readonly users: number;
  readonly user: Int32Array;
  readonly eventTime: Float64Array;
  readonly partition: Int32Array;
  /** Wall-clock ms at which the record was handed to the producer (0 until sent). */
  readonly sentAt: Float64Array;
  /**
   * Wall-clock ms at which the broker acknowledged the send that carried the record (0 until
   * acknowledged): from then on it is in the topic, readable by any consumer.
   */
  readonly ackedAt: Float64Array;
}

/** mulberry32: tiny, fast and good enough to shape a benchmark stream. */
export function random(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const userId = (index: number): string => `user_${index}`;

/** Partition of a user: FNV-1a of the id, so all of a user's events share a partition (keyBy). */
export function partitionOf(index: number, partitions: number): number {
  return partitionOfKey(userId(index), partitions);
}

/** Partition of a record key: FNV-1a of the key's UTF-16 code units. */
export function partitionOfKey(key: string, partitions: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return (h >>> 0) % partitions;
}

export function emptyStream(events: number, users: number): Stream {
  return {
    users,
    user: new Int32Array(events),
    eventTime: new Float64Array(events),
    partition: new Int32Array(events),
    sentAt: new Float64Array(events),
    ackedAt: new Float64Array(events),
  };
}

export interface GenerateOptions {
  readonly events: number;
  readonly users: number;
  readonly partitions: number;
  readonly seed: number;
  readonly config?: EngineConfig;
  readonly startMs?: number;
}

export function generate(options: GenerateOptions): Stream {
  const { events, users, partitions } = options;
  const config = options.config ?? BENCH_ENGINE;
  const next = random(options.seed);
  const stream = emptyStream(events, users);
  const partitionOfUser = Int32Array.from({ length: users }, (_, u) => partitionOf(u, partitions));
  const step = config.gapMs / users;
  let clock = options.startMs ?? STREAM_EPOCH_MS;
  for (let i = 0; i < events; i++) {
    clock += step;
    const u = Math.floor(next() * users);
    stream.user[i] = u;
    stream.eventTime[i] = Math.floor(clock - next() * (config.outOfOrdernessMs + 1));
    stream.partition[i] = partitionOfUser[u] as number;
  }
  return stream;
}

/** One partition's events in order, as the engine takes them (offsets from 0, fresh id strings). */
export function partitionRecords(stream: Stream, partition: number): EventRecord[] {
  const records: EventRecord[] = [];
  for (let i = 0; i < stream.user.length; i++) {
    if (stream.partition[i] !== partition) continue;
    records.push({
      offset: records.length,
      userId: userId(stream.user[i] as number),
      eventTime: stream.eventTime[i] as number,
      timestamp: stream.sentAt[i] as number,
    });
  }
  return records;
}

export interface ExpectedRow {
  readonly count: number;
  readonly end: number;
}

/**
 * The rows the job must write for the whole stream (every session the final watermarks close),
 * from one fold per partition: the pipeline cuts batches, crosses DynamoDB and PostgreSQL, and
 * must still give exactly these.
 */
export function expectedRows(
  stream: Stream,
  partitions: number,
  config = BENCH_ENGINE,
): Map<string, ExpectedRow> {
  return foldStream(stream, partitions, config).closed;
}

/**
 * The same fold, with the sessions still open when the stream ends: the rows a bounded Flink job
 * writes in addition, when its end of input fires every window (the flink tier).
 */
export function foldStream(
  stream: Stream,
  partitions: number,
  config = BENCH_ENGINE,
): { closed: Map<string, ExpectedRow>; open: Map<string, ExpectedRow> } {
  return foldPartitions(
    Array.from({ length: partitions }, (_, p) => partitionRecords(stream, p)),
    config,
  );
}

/** Each partition's records folded from nothing: the sessions they close, and those still open. */
export function foldPartitions(
  partitions: readonly (readonly EventRecord[])[],
  config: EngineConfig,
): { closed: Map<string, ExpectedRow>; open: Map<string, ExpectedRow> } {
  const closed = new Map<string, ExpectedRow>();
  const open = new Map<string, ExpectedRow>();
  for (const records of partitions) {
    const result = fold({
      config,
      partition: initialPartitionState(),
      users: new Map(),
      records,
      endOffset: records.length,
    });
    for (const s of result.emitted) closed.set(groupKey(s.userId, s.start), { count: s.count, end: s.end });
    // One fold from nothing: every user with a live session changed, so `users` holds them all.
    for (const user of result.users.values()) {
      for (const s of user.sessions) open.set(groupKey(user.userId, s.start), { count: s.count, end: s.end });
    }
  }
  return { closed, open };
}

/**
 * When the watermark of each partition first reached each value: the watermark after every
 * record (W = max(t - B - 1)) is a step function of the send order; a session with end `e` closes
 * at the first record with W >= e - 1, and that record's time on `clock` is when "the watermark
 * passed the session's end": `ackedAt`, when that record was in the topic (the broker acknowledged
 * it), or `sentAt`, when the producer was handed it (its client's batching and the trip included).
 */
export class WatermarkSteps {
  readonly #steps: { w: number[]; at: number[] }[] = [];

  constructor(stream: Stream, partitions: number, clock: 'ackedAt' | 'sentAt', config = BENCH_ENGINE) {
    for (let p = 0; p < partitions; p++) this.#steps.push({ w: [], at: [] });
    const times = stream[clock];
    const current = new Float64Array(partitions).fill(Number.NEGATIVE_INFINITY);
    for (let i = 0; i < stream.user.length; i++) {
      const p = stream.partition[i] as number;
      const w = (stream.eventTime[i] as number) - config.outOfOrdernessMs - 1;
      if (w <= (current[p] as number)) continue;
      current[p] = w;
      const steps = this.#steps[p] as { w: number[]; at: number[] };
      steps.w.push(w);
      steps.at.push(times[i] as number);
    }
  }

  /** The time of the record that moved partition p's watermark to >= end - 1 (undefined: never). */
  passedAt(partition: number, end: number): number | undefined {
    const steps = this.#steps[partition];
    if (steps === undefined) return undefined;
    const target = end - 1;
    let lo = 0;
    let hi = steps.w.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((steps.w[mid] as number) >= target) hi = mid;
      else lo = mid + 1;
    }
    return steps.at[lo];
  }
}

/** Saves a stream as raw arrays (the producer hands what it sent to the parent this way). */
export async function saveStream(file: string, stream: Stream): Promise<void> {
  const header = new Float64Array([stream.user.length, stream.users]);
  await writeFile(
    file,
    Buffer.concat(
      [header, stream.user, stream.eventTime, stream.partition, stream.sentAt, stream.ackedAt].map((a) =>
        Buffer.from(a.buffer, a.byteOffset, a.byteLength),
      ),
    ),
  );
}

export async function loadStream(file: string): Promise<Stream> {
  const bytes = await readFile(file);
  const copy = (offset: number, length: number) =>
    bytes.buffer.slice(bytes.byteOffset + offset, bytes.byteOffset + offset + length);
  const [events, users] = new Float64Array(copy(0, 16)) as unknown as [number, number];
  let at = 16;
  const take = <T>(make: (b: ArrayBuffer) => T, width: number): T => {
    const array = make(copy(at, events * width));
    at += events * width;
    return array;
  };
  return {
    users,
    user: take((b) => new Int32Array(b), 4),
    eventTime: take((b) => new Float64Array(b), 8),
    partition: take((b) => new Int32Array(b), 4),
    sentAt: take((b) => new Float64Array(b), 8),
    ackedAt: take((b) => new Float64Array(b), 8),
  };
}
