import { decodeImage, type StoredImage } from '../checkpoint/index.ts';
import type { KafkaRecord, PartitionBatch } from '../decode/index.ts';
import { PartitionLoader } from '../engine/index.ts';
import { SinkDataError } from '../errors.ts';
import type { Diversions } from './diversion.ts';
import { foldRecords } from './fold-records.ts';
import type { DecodedValues } from './parse-batch.ts';
import type { PipelineDeps } from './types.ts';

/**
 * A batch whose write PostgreSQL refused deterministically (SinkDataError): finds the first record
 * whose effects make the write fail, by bisection over the batch's records. Each probe folds a
 * prefix from the committed state, then writes every session it holds (an early firing of all of
 * them), and runs that sink transaction as a dry run (rolled back): nothing is written while
 * searching. Writing every session is what points at the record that put the refused data into a
 * session (an odd user id), not at the later record that made the session fire. Returns the
 * record to divert, or null when the refusal is not this batch's doing: the committed state alone
 * is refused (its data came in an earlier batch), or the whole batch now passes.
 *
 * Why bisection finds it: the empty prefix passes and the whole batch fails, so some k has prefix k
 * passing and k + 1 failing: record k is the one whose effects the sink refuses (log2(n) probes).
 * The answer depends only on the records and PostgreSQL's rules, so a replay diverts the same one.
 */
export async function findUnwritable(
  deps: PipelineDeps,
  batch: PartitionBatch,
  diversions: Diversions,
  decoded?: DecodedValues,
): Promise<KafkaRecord | null> {
  const { store, sink, settings } = deps;
  const base = await store.readPartition(batch.topic, batch.partition);
  // The committed state, read once (compressed); each probe decodes it into an engine of its own.
  const images: StoredImage[] = base === null ? [] : await store.readImages(base);
  const what = `a state image of ${batch.topic}-${batch.partition}`;
  const nextOffset = base?.state.nextOffset ?? 0;
  const fresh = batch.records.filter((r) => r.offset >= nextOffset);
  const generation = deps.warm.generation;
  if (generation === undefined) return null;
  const fence = {
    topic: batch.topic,
    partition: batch.partition,
    generation,
    // The claim that failed is the newest: its epoch still passes the fence, in a transaction
    // that is rolled back anyway.
    epoch: base?.epoch ?? 1,
    watermark: null,
    allowedLatenessMs: settings.engine.allowedLatenessMs,
  };
  const refused = async (k: number): Promise<boolean> => {
    const prefix = fresh.slice(0, k);
    const partition = base?.state ?? {
      nextOffset: 0,
      watermark: null,
      maxEventTime: null,
      lastLogTime: null,
    };
    const loader = new PartitionLoader({ ...settings.engine, idleFlush: true }, partition, {
      users: base?.stats.liveUsers,
      sessions: base?.stats.liveSessions,
    });
    for (const image of images) decodeImage(image, loader.visitor, what);
    const sessions = loader.finish();
    const endOffset = k === 0 ? nextOffset : (prefix[k - 1] as KafkaRecord).offset + 1;
    const { result, rejections } = foldRecords(sessions, prefix, endOffset, settings, diversions, decoded);
    const all = sessions.apply([{ offset: endOffset, tick: true, timestamp: 0 }], endOffset + 1);
    try {
      await sink.write(
        {
          emitted: result.emittedColumns.concat(all.emittedColumns),
          superseded: [...result.superseded, ...all.superseded],
          rejections,
        },
        { ...fence, watermark: result.partition.watermark },
        { dryRun: true },
      );
      return false;
    } catch (error) {
      if (error instanceof SinkDataError) return true;
      throw error;
    }
  };
  if ((await refused(0)) || !(await refused(fresh.length))) return null;
  let passes = 0;
  let fails = fresh.length;
  while (fails - passes > 1) {
    const middle = Math.floor((passes + fails) / 2);
    if (await refused(middle)) fails = middle;
    else passes = middle;
  }
  return fresh[fails - 1] as KafkaRecord;
}
