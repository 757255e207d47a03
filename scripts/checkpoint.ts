/**
 * `npm run checkpoint -- <command>`: the operator's side of docs/STATE.md section 5 ("Recovery"),
 * for when the job refuses a checkpoint with CheckpointLost, and of docs/OPERATIONS.md ("Changing
 * settings"), for when it refuses one with SettingsChanged.
 *
 *   show             the table's generation, the settings it records, and each partition's
 *                    committed offset and state
 *   adopt            a restored table: new generation (keeping the settings it records); prints
 *                    (or, with --reset-offsets --group, sets) the consumer group offsets the
 *                    restored state continues from
 *   new-generation   accept lost state, or change settings: new generation recording this
 *                    environment's settings, partition items deleted; partitions start empty at the
 *                    consumer group's committed offsets. With --partition: one partition's lost
 *                    state only (its item made empty, the generation and the others untouched)
 *
 * It talks to CHECKPOINT_TABLE at DYNAMODB_ENDPOINT (DynamoDB Local), or at AWS with the usual
 * credentials when DYNAMODB_ENDPOINT is unset; the topic's partitions come from Kafka
 * (KAFKA_BROKERS) unless --partitions says how many there are. Changes need --yes.
 */
import './local-env.ts';
import { parseArgs } from 'node:util';
import type { RecordedSettings } from '../lib/checkpoint/index.ts';
import { loadConfig } from '../lib/config.ts';
import { describeSettings, recordedSettings, settingsDifferences } from '../lib/pipeline/index.ts';
import { checkpointStore, dynamoClient } from '../lib/runtime/index.ts';
import { topicPartitions } from '../lib/sweep/index.ts';
import { endpointHint } from './checkpoint/endpoint-hint.ts';
import {
  adoptTable,
  type PartitionOffset,
  restartPartition,
  startNewGeneration,
} from './checkpoint/recovery.ts';
import { kafkaClient } from './services/kafka.ts';
import { serviceSettings } from './services/settings.ts';

const HELP = `usage: npm run checkpoint -- <show | adopt | new-generation> [options]

  show                      the table's generation, the settings it records (and how this
                            environment's differ), and each partition's committed state
  adopt                     give a restored table a new generation, so the job accepts it again;
                            it keeps the settings the restored table records (run the job with
                            them); prints each partition's nextOffset: reset the job's consumer
                            group to them before the job runs again (or pass --reset-offsets
                            --group <id>)
  new-generation            accept lost state, or change the settings that decide the rows: a new
                            generation and no partition items; the new generation records the
                            settings of this environment (SESSION_GAP_MS, OUT_OF_ORDERNESS_MS,
                            ALLOWED_LATENESS_MS, EVENT_TIME_SOURCE, MAX_FUTURE_MS, USER_ID_FIELD,
                            EVENT_TIME_FIELD, EVENT_TIME_UNIT: set them as the job will run), and
                            prints them; each partition starts empty at the
                            consumer group's committed offset (docs/OPERATIONS.md, "Changing
                            settings")
  new-generation --partition <p>
                            accept that partition <p> alone lost its state (its pieces expired
                            after a long pause, or were deleted: the job's CheckpointLost names it):
                            its item becomes empty and continues from its nextOffset, with an
                            epoch above any its rows were written with; the table's generation,
                            the settings and every other partition stay as they are, and no warm
                            container needs replacing (docs/STATE.md, "Recovery")

options:
  --partitions <n>          the topic's partition count (default: asked from Kafka)
  --partition <p>           show, or new-generation: that partition only
  --after-epoch <e>         with new-generation --partition, when the partition's item is gone:
                            the epoch the job's CheckpointLost message names ("PostgreSQL was last
                            written by generation ..., epoch <e>")
  --reset-offsets           with adopt: set the consumer group's offsets (the job must be stopped)
  --group <id>              the job's consumer group (with --reset-offsets)
  --yes                     make the change (without it, say what would be done)
  -h, --help                this text

settings (environment): CHECKPOINT_TABLE, DYNAMODB_ENDPOINT (unset: AWS), AWS_REGION, KAFKA_TOPIC,
KAFKA_BROKERS; and for new-generation the job's SESSION_GAP_MS, OUT_OF_ORDERNESS_MS,
ALLOWED_LATENESS_MS, EVENT_TIME_SOURCE, MAX_FUTURE_MS, USER_ID_FIELD, EVENT_TIME_FIELD,
EVENT_TIME_UNIT (unset: the defaults of README "Configuration")`;

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      partitions: { type: 'string' },
      partition: { type: 'string' },
      'after-epoch': { type: 'string' },
      'reset-offsets': { type: 'boolean', default: false },
      group: { type: 'string' },
      yes: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const command = positionals[0];
  if (values.help || command === undefined) {
    console.log(HELP);
    return;
  }
  if (!['show', 'adopt', 'new-generation'].includes(command))
    throw new Error(`unknown command "${command}"\n\n${HELP}`);
  if (values['reset-offsets'] && values.group === undefined)
    throw new Error('--reset-offsets needs --group <id>');
  const one = values.partition === undefined ? undefined : whole('--partition', values.partition, 0);
  const afterEpoch =
    values['after-epoch'] === undefined ? undefined : whole('--after-epoch', values['after-epoch'], 0);
  if (command === 'adopt' && one !== undefined) {
    throw new Error(
      'adopt acts on the whole table: a restore brings back every partition as it was at one time. ' +
        'To accept the loss of one partition, use new-generation --partition.',
    );
  }
  if (afterEpoch !== undefined && (command !== 'new-generation' || one === undefined))
    throw new Error('--after-epoch goes with new-generation --partition <p>');

  const config = loadConfig();
  const ours = recordedSettings(config);
  const dynamo = dynamoClient(config, process.env);
  const store = checkpointStore(config, dynamo);
  const topic = config.topic;
  const where = `table ${config.checkpointTable} at ${config.dynamodbEndpoint ?? `AWS ${config.region}`}`;
  try {
    const partitions = one === undefined ? await partitionsOf(topic, values.partitions) : [one];
    const current = await store.readMeta();
    const checkpoints = await store.readPartitions(topic, partitions);
    console.log(
      `${where}: generation ${current?.generation ?? '(none)'}${current ? ` (${current.origin})` : ''}`,
    );
    if (current !== null) console.log(`  settings: ${settingsLine(current.settings, ours)}`);
    if (current !== null && one === undefined) {
      console.log(
        `  partitions: ${current.partitions ?? 'not recorded yet'} when the state was built, ${partitions.length} in ` +
          `the topic now${current.partitions !== undefined && current.partitions !== partitions.length ? ': they differ (docs/DEPLOY.md, "Adding partitions")' : ''}`,
      );
    }
    for (const [i, c] of checkpoints.entries()) {
      console.log(
        c === null
          ? `  ${topic}-${partitions[i]}: no partition item`
          : `  ${topic}-${c.partition}: version ${c.version}, nextOffset ${c.state.nextOffset}, ` +
              `watermark ${c.state.watermark ?? '-'}, ${c.stats.liveSessions} live sessions ` +
              `(${c.stats.pendingSessions} without a row yet)`,
      );
    }
    if (command === 'show') return;

    if (one !== undefined && command === 'new-generation') {
      if (!values.yes) {
        console.log(
          `\nWould make the item of ${topic}-${one} empty: it continues from its nextOffset without its open ` +
            'sessions; the generation and the other partitions stay as they are.\nRun again with --yes to do it.',
        );
        return;
      }
      const restart = await restartPartition(
        dynamo,
        store,
        config.checkpointTable,
        topic,
        one,
        Date.now(),
        afterEpoch,
      );
      if (restart === null) {
        throw new Error(
          `${topic}-${one} has no partition item: pass --after-epoch <e>, the epoch the job's CheckpointLost ` +
            'message names ("PostgreSQL was last written by generation ..., epoch <e>")',
        );
      }
      console.log(
        `${topic}-${one} starts again from offset ${restart.offset} at epoch ${restart.epoch}; the ` +
          `${restart.lostSessions} sessions its lost state held are not counted further. The job accepts it at once.`,
      );
      return;
    }
    if (!values.yes) {
      console.log(
        command === 'adopt'
          ? '\nWould write a new generation (adopted), keeping the settings the table records.'
          : '\nWould write a new generation (new-generation) and delete the partition items above; it ' +
              `would record this environment's settings: ${describeSettings(ours)}.`,
      );
      console.log('Run again with --yes to do it.');
      return;
    }
    if (command === 'new-generation') {
      const meta = await startNewGeneration(
        dynamo,
        store,
        config.checkpointTable,
        topic,
        partitions,
        Date.now(),
        ours,
      );
      console.log(`deleted the partition items of ${topic} (their state pieces expire by TTL)`);
      console.log(`wrote generation ${meta.generation} (${meta.origin}): the job accepts this table again`);
      console.log(`  settings: ${describeSettings(ours)} (this environment's; run the job with them)`);
      return;
    }
    const { meta, offsets } = await adoptTable(store, topic, partitions, Date.now());
    console.log(`wrote generation ${meta.generation} (${meta.origin}): the job accepts this table again`);
    console.log(`  settings: ${settingsLine(meta.settings, ours)}`);
    await adoptOffsets(topic, offsets, values.group, values['reset-offsets']);
  } finally {
    dynamo.destroy();
  }
}

/** The recorded settings, and whether the job would run with them under this environment's. */
function settingsLine(recorded: RecordedSettings | undefined, ours: RecordedSettings): string {
  if (recorded === undefined) {
    return "none recorded (a table of release 0.1.0): the job's next batch records its own";
  }
  const differences = settingsDifferences(recorded, ours);
  return (
    describeSettings(recorded) +
    (differences.length === 0
      ? ''
      : `\n  a job with this environment's settings would refuse the table: ${differences.join('; ')}`)
  );
}

function whole(name: string, raw: string, min: number): number {
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min)
    throw new Error(`${name} must be a whole number >= ${min}, got "${raw}"`);
  return n;
}

async function partitionsOf(topic: string, count: string | undefined): Promise<number[]> {
  if (count !== undefined) {
    const n = Number(count);
    if (!Number.isInteger(n) || n < 1)
      throw new Error(`--partitions must be a whole number >= 1, got "${count}"`);
    return Array.from({ length: n }, (_, i) => i);
  }
  return topicPartitions(kafkaClient(serviceSettings()), topic);
}

async function adoptOffsets(
  topic: string,
  restored: readonly PartitionOffset[],
  group: string | undefined,
  reset: boolean,
): Promise<void> {
  const offsets = restored.map((o) => ({ partition: o.partition, offset: String(o.offset) }));
  console.log('\nThe restored state continues from these offsets:');
  for (const o of offsets) console.log(`  ${topic}-${o.partition}: ${o.offset}`);
  if (!reset || group === undefined) {
    console.log(
      "\nReset the job's consumer group to them before it runs again, e.g.\n" +
        `  scripts/kafka-cli consumer-groups --group <group> --topic ${topic}:<partition> --reset-offsets --to-offset <offset> --execute\n` +
        'or run this command again with --reset-offsets --group <group> (locally, the job stopped).',
    );
    return;
  }
  const admin = kafkaClient(serviceSettings()).admin();
  await admin.connect();
  try {
    await admin.setOffsets({ groupId: group, topic, partitions: offsets });
    console.log(`set the offsets of consumer group ${group}`);
  } finally {
    await admin.disconnect();
  }
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  console.error(message);
  const hint = endpointHint(message, process.env);
  if (hint !== undefined) console.error(hint);
  process.exitCode = 1;
});
