/**
 * The local job's progress per Kafka partition, gathered from the three places that hold it:
 * Kafka (the job's committed offsets, the log end), the checkpoint table (watermark, sessions,
 * last batch) and PostgreSQL (rows written, rejects by reason). Read-only; each source that is
 * missing leaves its fields null and a note, the rest still shows.
 */
import { ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import { type PartitionSummary, readTopicSummary } from '../../lib/checkpoint/index.ts';
import { redactUrl } from '../../lib/shared/index.ts';
import { activeMembers, committed, type Member, topicOffsets } from './kafka.ts';
import { rejectsPerPartition, sessionRowsPerPartition } from './postgres.ts';
import type { JobClients, JobTarget } from './target.ts';

export interface PartitionStatus {
  readonly partition: number;
  /** The job's consumer group's committed offset: the next record the trigger delivers. */
  readonly committedOffset: number | null;
  readonly logEndOffset: number | null;
  /** Records not yet delivered and committed: log end - committed offset. */
  readonly lag: number | null;
  /** The checkpoint's next offset to apply (below it, everything is counted or rejected). */
  readonly appliedOffset: number | null;
  /** The records' watermark, epoch ms; null: none yet (minus infinity) or unknown. */
  readonly watermark: number | null;
  /** Sessions in the checkpoint: not final yet (the watermark has not passed end - 1 + L). */
  readonly liveSessions: number | null;
  /** Of those, sessions without a row yet: the next firing, on time or early, writes them. */
  readonly unwrittenSessions: number | null;
  /**
   * Bytes the partition's state takes in a container's memory (the engine's estimate at the last
   * commit): what the warm cache holds for it, and what a cold load needs (docs/DEPLOY.md, "Sizing").
   */
  readonly stateBytes: number | null;
  /** Session rows written (user_sessions rows of this partition)... */
  readonly rowsWritten: number | null;
  /** ...of which provisional: their sessions are live, a later record may still change them. */
  readonly provisionalRows: number | null;
  readonly rejects: Readonly<Record<string, number>> | null;
  /** Wall-clock time of the last batch the checkpoint committed, epoch ms (PartitionSummary.committedAt). */
  readonly lastBatchAt: number | null;
}

export interface JobStatus {
  readonly takenAt: number;
  readonly topic: string;
  readonly group: string;
  readonly brokers: string;
  readonly table: string;
  readonly database: string;
  /** Members of the job's group reading the topic: empty when the job is not running. */
  readonly members: readonly Member[];
  readonly partitions: readonly PartitionStatus[];
  /** What could not be read, and why those fields show "-". */
  readonly notes: readonly string[];
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

export async function collectStatus(
  target: JobTarget,
  clients: JobClients,
  now: () => number = Date.now,
): Promise<JobStatus> {
  const { topic, group, checkpointTable } = target;
  const notes: string[] = [];
  const offsets = await topicOffsets(clients.admin, topic);
  if (offsets === null) notes.push(`topic ${topic} does not exist (npm start creates it)`);
  const partitions = offsets?.map((o) => o.partition) ?? [];
  const [members, positions] = await Promise.all([
    activeMembers(clients.admin, group, topic),
    committed(clients.admin, group, topic),
  ]);

  let summaries: PartitionSummary[] = [];
  try {
    const topicSummary = await readTopicSummary(clients.dynamo, checkpointTable, topic, partitions);
    summaries = topicSummary.partitions;
    const recorded = topicSummary.recordedPartitions;
    if (recorded !== null && offsets !== null && recorded !== partitions.length) {
      notes.push(
        `topic ${topic} has ${partitions.length} partitions; the checkpoint's state was built with ${recorded}: users ` +
          'whose key moved have a session open across the change cut in two rows (docs/DEPLOY.md, "Adding partitions")',
      );
    }
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
    notes.push(`checkpoint table ${checkpointTable} does not exist (npm start creates it)`);
  }

  const [rows, rejects] = await Promise.all([
    sessionRowsPerPartition(clients.db, topic).catch((error: unknown) => {
      notes.push(`rows: ${message(error)}`);
      return null;
    }),
    rejectsPerPartition(clients.db, topic).catch((error: unknown) => {
      notes.push(`rejects: ${message(error)}`);
      return null;
    }),
  ]);
  if (rows === null) notes.push('rows: this database has no user_sessions table (one row per session)');

  return {
    takenAt: now(),
    topic,
    group,
    brokers: target.kafkaBrokers.join(','),
    table: checkpointTable,
    database: redactUrl(target.databaseUrl),
    members,
    notes,
    partitions: (offsets ?? []).map(({ partition, high }) => {
      const committedOffset = positions.find((p) => p.partition === partition)?.offset ?? null;
      const summary = summaries.find((s) => s.partition === partition);
      // Version 0: the checkpoint has never committed this partition; nothing in it is known.
      const known = summary !== undefined && summary.version > 0 ? summary : undefined;
      return {
        partition,
        committedOffset,
        logEndOffset: high,
        lag: committedOffset === null ? null : Math.max(0, high - committedOffset),
        appliedOffset: known?.nextOffset ?? null,
        watermark: known?.watermark ?? null,
        liveSessions: known?.liveSessions ?? null,
        unwrittenSessions: known?.pendingSessions ?? null,
        stateBytes: known?.memoryBytes ?? null,
        rowsWritten: rows === null ? null : (rows.rows.get(partition) ?? 0),
        provisionalRows:
          rows === null || rows.provisional === null ? null : (rows.provisional.get(partition) ?? 0),
        rejects: rejects === null ? null : (rejects.get(partition) ?? {}),
        lastBatchAt: known?.committedAt ?? null,
      };
    }),
  };
}

const dash = (value: number | string | null | undefined): string =>
  value === null || value === undefined ? '-' : String(value);

/** "18:40:02 (4 s ago)" in local time; "-" for null. */
export function formatAgo(at: number | null, now: number): string {
  if (at === null) return '-';
  const seconds = Math.max(0, Math.round((now - at) / 1000));
  const ago =
    seconds < 120
      ? `${seconds} s`
      : seconds < 7200
        ? `${Math.round(seconds / 60)} min`
        : `${Math.round(seconds / 3600)} h`;
  return `${new Date(at).toTimeString().slice(0, 8)} (${ago} ago)`;
}

/** Bytes as "25 KB" below a megabyte, else "12.3 MB"; "-" when unknown. */
export function formatBytes(bytes: number | null): string {
  if (bytes === null) return '-';
  return bytes < 2 ** 20 ? `${Math.round(bytes / 1024)} KB` : `${(bytes / 2 ** 20).toFixed(1)} MB`;
}

/** The watermark as an ISO instant; minus infinity and unknown both show "-". */
export function formatWatermark(watermark: number | null): string {
  if (watermark === null || !Number.isFinite(watermark)) return '-';
  const date = new Date(watermark);
  return Number.isNaN(date.getTime()) ? String(watermark) : date.toISOString();
}

export function formatRejects(rejects: Readonly<Record<string, number>> | null): string {
  if (rejects === null) return '-';
  const entries = Object.entries(rejects).filter(([, n]) => n > 0);
  return entries.length === 0 ? '0' : entries.map(([reason, n]) => `${reason}:${n}`).join(' ');
}

/** Columns padded to their widest cell; numbers right-aligned, text left-aligned. */
export function renderColumns(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const numeric = header.map((_, i) => rows.length > 0 && rows.every((r) => /^(-|\d+)$/.test(r[i] ?? '')));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (numeric[i] ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** The terminal view: what is looked at, then one line per partition, then the notes. */
export function formatStatus(status: JobStatus): string {
  const running =
    status.members.length === 0
      ? 'not running (no member in the group)'
      : `running (${status.members.length} member${status.members.length === 1 ? '' : 's'})`;
  const header = [
    `topic ${status.topic} on ${status.brokers}, group ${status.group}: ${running}`,
    `checkpoint table ${status.table}, database ${status.database}`,
    '',
  ];
  const table = renderColumns(
    [
      'partition',
      'committed',
      'log end',
      'lag',
      'watermark',
      'live',
      'unwritten',
      'memory',
      'rows',
      'provisional',
      'rejects',
      'last batch',
    ],
    status.partitions.map((p) => [
      String(p.partition),
      dash(p.committedOffset),
      dash(p.logEndOffset),
      dash(p.lag),
      formatWatermark(p.watermark),
      dash(p.liveSessions),
      dash(p.unwrittenSessions),
      formatBytes(p.stateBytes),
      dash(p.rowsWritten),
      dash(p.provisionalRows),
      formatRejects(p.rejects),
      formatAgo(p.lastBatchAt, status.takenAt),
    ]),
  );
  const notes = status.notes.map((n) => `note: ${n}`);
  return [...header, table, ...(notes.length > 0 ? ['', ...notes] : [])].join('\n');
}
