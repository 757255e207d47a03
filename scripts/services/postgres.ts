import pg from 'pg';
import { redactUrl } from '../../lib/shared/index.ts';
import { ensureDatabase, migrate } from '../../lib/sink/index.ts';
import type { ServiceSettings } from './settings.ts';

/**
 * PostgreSQL is not started by us: it is the machine's server (or docker-compose's) at
 * DATABASE_URL. We wait for it, create the database and apply the schema.
 */
export async function preparePostgres(settings: ServiceSettings): Promise<'created' | 'ready'> {
  const deadline = Date.now() + 30_000;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const created = await ensureDatabase(settings.databaseUrl);
      const client = new pg.Client({ connectionString: settings.databaseUrl });
      await client.connect();
      try {
        await client.query('SELECT 1');
        await migrate(client);
      } finally {
        await client.end();
      }
      return created ? 'created' : 'ready';
    } catch (error) {
      lastError = error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  throw new Error(
    `PostgreSQL at ${redactUrl(settings.databaseUrl)} did not answer within 30s ` +
      `(${(lastError as Error)?.message}). Start it (on Debian: pg_ctlcluster <version> main start) ` +
      'or set DATABASE_URL.',
  );
}

export async function postgresAnswers(settings: ServiceSettings): Promise<boolean> {
  const client = new pg.Client({ connectionString: settings.databaseUrl, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}
