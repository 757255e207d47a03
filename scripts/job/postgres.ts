/**
 * The local job's PostgreSQL tables as the reset and status tools see them: the project's tables
 * are those lib/sink/schema.sql creates (so a table added there is reset too), looked up in the
 * connection's search_path, any of which may not exist (yet).
 */
import { readFileSync } from 'node:fs';
import type pg from 'pg';

const SCHEMA_SQL = new URL('../../lib/sink/schema.sql', import.meta.url);

/** The tables schema.sql creates, in its order. */
export function projectTables(sql: string = readFileSync(SCHEMA_SQL, 'utf8')): string[] {
  return [...sql.matchAll(/^\s*CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?([a-z_][a-z0-9_]*)/gim)].map((m) =>
    (m[1] as string).toLowerCase(),
  );
}

/** Which of `tables` exist in the search_path. */
export async function existingTables(db: pg.ClientBase, tables: readonly string[]): Promise<string[]> {
  const { rows } = await db.query<{ name: string }>(
    'SELECT name FROM unnest($1::text[]) AS name WHERE to_regclass(name) IS NOT NULL',
    [tables],
  );
  const found = new Set(rows.map((r) => r.name));
  return tables.filter((t) => found.has(t));
}

export interface Truncated {
  /** Tables emptied, with the rows they held. */
  readonly truncated: readonly { table: string; rows: number }[];
  /** Project tables this database does not have. */
  readonly missing: readonly string[];
}

/** Empties every project table that exists, in one statement (one transaction). */
export async function truncateProjectTables(db: pg.ClientBase): Promise<Truncated> {
  const tables = projectTables();
  const present = await existingTables(db, tables);
  const truncated: { table: string; rows: number }[] = [];
  for (const table of present) {
    const { rows } = await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${db.escapeIdentifier(table)}`);
    truncated.push({ table, rows: Number(rows[0]?.n ?? 0) });
  }
  if (present.length > 0) {
    await db.query(`TRUNCATE ${present.map((t) => db.escapeIdentifier(t)).join(', ')}`);
  }
  return { truncated, missing: tables.filter((t) => !present.includes(t)) };
}

/** Session rows per partition, and how many of them are provisional (null: not known). */
export interface SessionRowCounts {
  readonly rows: ReadonlyMap<number, number>;
  readonly provisional: ReadonlyMap<number, number> | null;
}

/**
 * Session rows per partition of `topic`, and the provisional ones among them (the session_status
 * view: its partition's records watermark has not passed them yet). null when this database has no
 * user_sessions (an older schema); provisional null without the view.
 */
export async function sessionRowsPerPartition(
  db: pg.ClientBase,
  topic: string,
): Promise<SessionRowCounts | null> {
  const rows = await rowsPerPartition(db, topic);
  if (rows === null) return null;
  if ((await existingTables(db, ['session_status'])).length === 0) return { rows, provisional: null };
  const { rows: counts } = await db.query<{ p: number; n: string }>(
    `SELECT kafka_partition AS p, count(*) AS n FROM session_status
      WHERE topic = $1 AND status = 'provisional' GROUP BY kafka_partition`,
    [topic],
  );
  return { rows, provisional: new Map(counts.map((r) => [r.p, Number(r.n)])) };
}

/**
 * Sessions written per partition of `topic`: user_sessions has one row per session with its
 * Kafka partition. null when this database has no user_sessions (an older schema).
 */
export async function rowsPerPartition(
  db: pg.ClientBase,
  topic: string,
): Promise<Map<number, number> | null> {
  const { rows: columns } = await db.query<{ column_name: string }>(
    `SELECT column_name FROM information_schema.columns
      WHERE table_name = 'user_sessions' AND table_schema = ANY (current_schemas(false))
        AND column_name IN ('topic', 'kafka_topic')`,
  );
  const topicColumn = columns[0]?.column_name;
  if (topicColumn === undefined) return null;
  const { rows } = await db.query<{ p: number; n: string }>(
    `SELECT kafka_partition AS p, count(*) AS n FROM user_sessions
      WHERE ${db.escapeIdentifier(topicColumn)} = $1 GROUP BY kafka_partition`,
    [topic],
  );
  return new Map(rows.map((r) => [r.p, Number(r.n)]));
}

/** Rejected records per partition of `topic` and reason; null without a rejected_events table. */
export async function rejectsPerPartition(
  db: pg.ClientBase,
  topic: string,
): Promise<Map<number, Record<string, number>> | null> {
  if ((await existingTables(db, ['rejected_events'])).length === 0) return null;
  const { rows } = await db.query<{ p: number; reason: string; n: string }>(
    `SELECT kafka_partition AS p, reason, count(*) AS n FROM rejected_events
      WHERE topic = $1 GROUP BY kafka_partition, reason ORDER BY reason`,
    [topic],
  );
  const result = new Map<number, Record<string, number>>();
  for (const r of rows) result.set(r.p, { ...result.get(r.p), [r.reason]: Number(r.n) });
  return result;
}
