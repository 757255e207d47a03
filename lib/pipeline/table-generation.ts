import { randomBytes } from 'node:crypto';
import { LAYOUT, type RecordedSettings, type TableMeta } from '../checkpoint/index.ts';
import { CheckpointIncompatibleError, CheckpointLostError, SettingsChangedError } from '../errors.ts';
import { log } from '../log.ts';
import { DEFAULT_FIELDS } from '../parse/index.ts';
import type { PipelineDeps, PipelineSettings } from './types.ts';

/**
 * A new generation id: later ones sort later (byte-wise), two at the same millisecond still differ.
 * `after`, the generation it replaces, keeps it later than that one even if this machine's clock is
 * behind the one that wrote it: the sink's fences accept only a later generation.
 */
export function newGeneration(nowMs: number, after?: string): string {
  const previous = after === undefined ? Number.NaN : Date.parse(after.split('/')[0] ?? '');
  const at = Number.isFinite(previous) ? Math.max(nowMs, previous + 1) : nowMs;
  return `${new Date(at).toISOString()}/${randomBytes(4).toString('hex')}`;
}

/**
 * The checkpoint table's generation, read once per container (docs/STATE.md section 5). A table
 * without a `meta` item is taken into use only when nothing says state existed: no items of the
 * earlier layout, and no sink fence for the topic in PostgreSQL. Otherwise the state was lost (or
 * the table is another one), and processing on would silently undercount.
 */
export async function tableGeneration(deps: PipelineDeps, topic: string): Promise<string> {
  if (deps.warm.generation !== undefined) return deps.warm.generation;
  // One resolution per container: the partitions of one event run in parallel.
  deps.warm.resolving ??= readOrTakeGeneration(deps, topic).finally(() => {
    deps.warm.resolving = undefined;
  });
  return deps.warm.resolving;
}

/** The table's `meta` (taken into use on first use), checked against this job's layout and settings. */
async function readOrTakeGeneration(deps: PipelineDeps, topic: string): Promise<string> {
  let meta = (await deps.store.readMeta()) ?? (await firstUse(deps, topic));
  if (meta.layout !== LAYOUT) {
    throw new CheckpointIncompatibleError(
      `The checkpoint table holds layout ${meta.layout}; this version reads and writes layout ${LAYOUT}. ` +
        'Point CHECKPOINT_TABLE at a new table, or delete this one.',
    );
  }
  const ours = recordedSettings(deps.settings);
  // A table of release 0.1.0 has no settings yet: this job's become the table's.
  if (meta.settings === undefined) meta = (await deps.store.recordSettings(meta.generation, ours)) ?? meta;
  checkSettings(meta, ours);
  deps.warm.generation = meta.generation;
  return meta.generation;
}

/**
 * The settings that decide the rows, as the checkpoint records them: of a job's PipelineSettings,
 * or of a Config (`npm run checkpoint -- new-generation` records the environment's).
 */
export function recordedSettings(
  settings: Pick<PipelineSettings, 'engine' | 'eventTimeSource' | 'maxFutureMs' | 'fields'>,
): RecordedSettings {
  const fields = settings.fields ?? DEFAULT_FIELDS;
  return {
    gapMs: settings.engine.gapMs,
    outOfOrdernessMs: settings.engine.outOfOrdernessMs,
    allowedLatenessMs: settings.engine.allowedLatenessMs,
    eventTimeSource: settings.eventTimeSource,
    maxFutureMs: settings.maxFutureMs ?? null,
    userIdField: fields.userIdField,
    eventTimeField: fields.eventTimeField,
    eventTimeUnit: fields.eventTimeUnit,
  };
}

/** The environment variable behind each recorded setting, for messages. */
const SETTING_NAMES: Record<keyof RecordedSettings, string> = {
  gapMs: 'SESSION_GAP_MS',
  outOfOrdernessMs: 'OUT_OF_ORDERNESS_MS',
  allowedLatenessMs: 'ALLOWED_LATENESS_MS',
  eventTimeSource: 'EVENT_TIME_SOURCE',
  maxFutureMs: 'MAX_FUTURE_MS',
  userIdField: 'USER_ID_FIELD',
  eventTimeField: 'EVENT_TIME_FIELD',
  eventTimeUnit: 'EVENT_TIME_UNIT',
};

const show = (v: string | number | null) => (v === null ? 'unset' : String(v));

/** The settings as environment variables: `SESSION_GAP_MS=5000, ..., MAX_FUTURE_MS=unset`. */
export function describeSettings(settings: RecordedSettings): string {
  return (Object.keys(SETTING_NAMES) as (keyof RecordedSettings)[])
    .map((key) => `${SETTING_NAMES[key]}=${show(settings[key])}`)
    .join(', ');
}

/** Every recorded setting that differs, as `NAME is <ours> here, <theirs> in the checkpoint`. */
export function settingsDifferences(recorded: RecordedSettings, ours: RecordedSettings): string[] {
  return (Object.keys(SETTING_NAMES) as (keyof RecordedSettings)[])
    .filter((key) => recorded[key] !== ours[key])
    .map(
      (key) => `${SETTING_NAMES[key]} is ${show(ours[key])} here, ${show(recorded[key])} in the checkpoint`,
    );
}

function checkSettings(meta: TableMeta, ours: RecordedSettings): void {
  if (meta.settings === undefined) return;
  const differences = settingsDifferences(meta.settings, ours);
  if (differences.length === 0) return;
  throw new SettingsChangedError(
    `The checkpoint (generation ${meta.generation}) was built with other settings: ${differences.join('; ')}. ` +
      'State built under one definition of a session cannot be folded on under another. Put the settings ' +
      'back, or change them deliberately as docs/OPERATIONS.md ("Changing settings") says: recompute from ' +
      'the start of the topic, or start a new generation from the current offsets ' +
      '(`npm run checkpoint -- new-generation`).',
  );
}

async function firstUse(deps: PipelineDeps, topic: string): Promise<TableMeta> {
  if (await deps.store.hasLegacyItems(topic)) {
    throw new CheckpointIncompatibleError(
      `The checkpoint table holds items of the earlier per-user layout for topic ${topic}; it is not ` +
        'read (its state cannot be converted). Point CHECKPOINT_TABLE at a new table, or delete this one.',
    );
  }
  const fenced = await deps.sink.fenceGenerations(topic);
  // Another container may have taken the table into use since we looked: it writes `meta` before
  // any fence, so a fence we see implies its `meta`, unless the table lost it.
  const meanwhile = fenced.length > 0 ? await deps.store.readMeta() : null;
  if (meanwhile !== null) return meanwhile;
  if (fenced.length > 0) {
    throw new CheckpointLostError(
      `The checkpoint table has no generation item, but PostgreSQL holds rows of topic ${topic} written ` +
        `under checkpoint generation ${fenced.sort().join(', ')}: the table was deleted, recreated or ` +
        'wiped (for example DynamoDB Local restarted without its data). Nothing is processed until you ' +
        'decide: restore the table and run `npm run checkpoint -- adopt`, or accept the loss with ' +
        '`npm run checkpoint -- new-generation` (docs/STATE.md, "Recovery").',
    );
  }
  const now = deps.now();
  const meta = await deps.store.createMeta({
    layout: LAYOUT,
    generation: newGeneration(now),
    createdAt: now,
    origin: 'first-use',
    settings: recordedSettings(deps.settings),
  });
  log.info('checkpoint table taken into use', { generation: meta.generation, topic });
  return meta;
}
