import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config.ts';
import { asTick, decodeKafkaEvent } from '../../lib/decode/index.ts';
import { loadValueSchema, SchemaValueDecoder } from '../../lib/parse/index.ts';
import { handleKafkaEvent, type PipelineDeps } from '../../lib/pipeline/index.ts';
import { buildKafkaEvent } from '../../offline/build-event.ts';
import { SAMPLE_BATCHES, sampleBatchFile, sampleSettings } from '../../scripts/payloads.ts';
import { createTestPipeline } from '../helpers/pipeline.ts';

// The README's invoke-local walk: the sample batch, then the idle tick the sweep would append
// after ten quiet seconds, both on the sample's own topic (never the job's).
const load = (name: string) =>
  JSON.parse(readFileSync(new URL(`../../events/${name}`, import.meta.url), 'utf8')) as unknown;
const seedBatch = load('seed-batch.json');
const seedTick = load('seed-tick.json');

describe('events/seed-tick.json', () => {
  it('is one idle tick at offset 3 of user_activity_sample-0, in the exact MSK event shape', () => {
    // Act
    const decoded = decodeKafkaEvent(seedTick);
    const records = decoded.batches.flatMap((b) => b.records);

    // Assess
    expect(records).toHaveLength(1);
    expect(asTick(records[0] as (typeof records)[number])).toEqual({
      offset: 3,
      tick: true,
      timestamp: 1_732_435_212_342,
    });
    expect(records[0]).toMatchObject({ topic: 'user_activity_sample', partition: 0 });
    expect(JSON.stringify(buildKafkaEvent({ ...decoded, records }))).toBe(JSON.stringify(seedTick));
  });
});

describe('the sample batch and its tick through the handler', () => {
  let p: Awaited<ReturnType<typeof createTestPipeline>>;
  beforeEach(async () => {
    p = await createTestPipeline();
  });
  afterEach(async () => p.cleanup());

  it('close the first seed session, then the second, and a re-delivery changes nothing', async () => {
    // Act
    await handleKafkaEvent(p.deps, seedBatch);
    const afterBatch = await p.rows();
    const [again] = await handleKafkaEvent(p.deps, seedBatch);
    const [tick] = await handleKafkaEvent(p.deps, seedTick);

    // Assess
    expect(afterBatch).toEqual([
      { group_key: 'user_A|1970-01-01T00:00:01.000Z', count: 2, end: '1970-01-01 00:00:07.000' },
    ]);
    expect(again).toMatchObject({ records: 0, skipped: 3 });
    expect(tick).toMatchObject({ topic: 'user_activity_sample', ticks: 1, earlyFired: 1, emitted: 1 });
    expect(await p.rows()).toEqual([
      { group_key: 'user_A|1970-01-01T00:00:01.000Z', count: 2, end: '1970-01-01 00:00:07.000' },
      { group_key: 'user_A|1970-01-01T00:00:08.000Z', count: 1, end: '1970-01-01 00:00:13.000' },
    ]);
  });
});

// docs/PAYLOADS.md: the seed scenario as real producers send it, one file per format, each read
// with the settings PAYLOADS.md gives, then closed by the same idle tick.
describe.each(Object.keys(SAMPLE_BATCHES) as (keyof typeof SAMPLE_BATCHES)[])(
  'events/%s sample',
  (format) => {
    const file = SAMPLE_BATCHES[format];
    let p: Awaited<ReturnType<typeof createTestPipeline>>;
    beforeEach(async () => {
      p = await createTestPipeline();
    });
    afterEach(async () => p.cleanup());

    it('is what scripts/payloads.ts writes (npx tsx scripts/payloads.ts)', () => {
      expect(readFileSync(new URL(`../../events/${file}`, import.meta.url), 'utf8')).toBe(
        sampleBatchFile(format),
      );
    });

    it('gives the two seed rows with the settings of docs/PAYLOADS.md, and the tick closes the second', async () => {
      // Prepare: the job's settings as the environment gives them.
      const config = loadConfig(sampleSettings(format));
      const deps: PipelineDeps = {
        ...p.deps,
        settings: { ...p.deps.settings, fields: config.fields },
        values:
          config.value.format === 'text' ? undefined : new SchemaValueDecoder(loadValueSchema(config.value)),
      };

      // Act
      const [batch] = await handleKafkaEvent(deps, load(file));
      const [tick] = await handleKafkaEvent(deps, seedTick);

      // Assess
      expect(batch).toMatchObject({ records: 3, rejected: {}, emitted: 1, watermark: 7999 });
      expect(tick).toMatchObject({ ticks: 1, emitted: 1 });
      expect(await p.rows()).toEqual([
        { group_key: 'user_A|1970-01-01T00:00:01.000Z', count: 2, end: '1970-01-01 00:00:07.000' },
        { group_key: 'user_A|1970-01-01T00:00:08.000Z', count: 1, end: '1970-01-01 00:00:13.000' },
      ]);
      const sessions = await p.pool.query(
        'SELECT duration_ms::int AS ms FROM user_sessions ORDER BY group_key',
      );
      expect(sessions.rows).toEqual([{ ms: 1000 }, { ms: 0 }]);
    });
  },
);
