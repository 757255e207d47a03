import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { redactUrl } from '../shared/index.ts';

const SCHEMA_SQL = fileURLToPath(new URL('./schema.sql', import.meta.url));

/**
 * Creates the database named in `databaseUrl` when it does not exist, connecting to the server's
 * `postgres` database to do so. Returns true when it created it.
 */
export async function ensureDatabase(databaseUrl: string): Promise<boolean> {
  const target = parseUrl(databaseUrl);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  if (name === '') throw new Error(`DATABASE_URL names no database: ${redactUrl(databaseUrl)}`);
  const admin = parseUrl(databaseUrl);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount !== 0) return false;
    // Identifiers cannot be bind parameters; escapeIdentifier quotes it safely.
    await client
      .query(`CREATE DATABASE ${client.escapeIdentifier(name)}`)
      .catch((error: { code?: string }) => {
        if (error.code !== '42P04') throw error; // created concurrently: fine
      });
    return true;
  } finally {
    await client.end();
  }
}

/**
 * Applies schema.sql (idempotent) in `schema` (default: the connection's search_path). An
 * advisory lock serialises concurrent runs, which CREATE ... IF NOT EXISTS alone does not.
 */
export async function migrate(client: pg.ClientBase, schema?: string): Promise<void> {
  const sql = readFileSync(SCHEMA_SQL, 'utf8');
  await client.query('BEGIN');
  try {
    await client.query("SELECT pg_advisory_xact_lock(hashtext('sessionizer-migrate'))");
    if (schema !== undefined) {
      const ident = client.escapeIdentifier(schema);
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${ident}`);
      await client.query(`SET LOCAL search_path TO ${ident}`);
    }
    await client.query(sql);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/**
 * `new URL`, whose TypeError keeps the whole URL, password included, in its `input` property (an
 * unhandled rejection prints it): this one says what is wrong with the URL redacted, and no more.
 */
function parseUrl(databaseUrl: string): URL {
  try {
    return new URL(databaseUrl);
  } catch {
    // Thrown outside the catch binding: the TypeError is not its cause.
  }
  throw new Error(`DATABASE_URL is not a valid URL: ${redactUrl(databaseUrl)}`);
}
