import type pg from 'pg';
import { ConfigError, SinkUnavailableError } from '../errors.ts';
import { parseJsonSecret, type SecretReader, secretsManagerReader } from '../shared/index.ts';

export type DatabaseSsl = 'off' | 'require' | 'verify-full';

export interface DatabaseSettings {
  readonly databaseUrl: string;
  readonly databaseSecretArn: string | undefined;
  readonly databaseSsl: DatabaseSsl;
  readonly region: string;
}

/** The fields of an RDS database secret (what RDS-managed and rotated secrets hold). */
const RDS_SHAPE = '{"host", "port", "username", "password", "dbname"}';

/**
 * The PostgreSQL connection. Locally: DATABASE_URL. On AWS: DATABASE_SECRET_ARN names a Secrets
 * Manager secret in the RDS shape ({host, port, username, password, dbname}), so no password is
 * ever in the template or the environment. `fresh` reads the secret past its cache (after
 * PostgreSQL refused the credentials of the cached one: a rotation).
 */
export async function resolveConnection(
  settings: DatabaseSettings,
  readSecret: SecretReader = secretsManagerReader(settings.region),
  { fresh = false }: { readonly fresh?: boolean } = {},
): Promise<pg.ClientConfig> {
  const ssl = sslOption(settings.databaseSsl);
  if (settings.databaseSecretArn === undefined) return { connectionString: settings.databaseUrl, ssl };
  let secret: string;
  try {
    secret = await readSecret(settings.databaseSecretArn, { fresh });
  } catch (error) {
    throw new SinkUnavailableError(`Cannot read the database secret: ${(error as Error).message}`, error);
  }
  const parsed = parseJsonSecret(secret, 'DATABASE_SECRET_ARN', RDS_SHAPE);
  const missing = ['host', 'username', 'password'].filter((k) => typeof parsed[k] !== 'string');
  if (missing.length > 0) {
    throw new ConfigError(
      `DATABASE_SECRET_ARN: the secret lacks ${missing.join(', ')} (RDS secret shape expected: ${RDS_SHAPE})`,
    );
  }
  return {
    host: parsed.host as string,
    port: Number(parsed.port ?? 5432),
    user: parsed.username as string,
    password: parsed.password as string,
    database: typeof parsed.dbname === 'string' ? parsed.dbname : 'flink_db',
    ssl,
  };
}

/**
 * verify-full checks the server certificate against Node's CAs plus NODE_EXTRA_CA_CERTS (on
 * Lambda: /var/runtime/ca-cert.pem, which holds the RDS certificate authorities).
 */
function sslOption(mode: DatabaseSsl): pg.ClientConfig['ssl'] {
  if (mode === 'off') return false;
  return { rejectUnauthorized: mode === 'verify-full' };
}
