import { describe, expect, it } from 'vitest';
import { ConfigError, SinkUnavailableError } from '../../../lib/errors.ts';
import { type DatabaseSettings, resolveConnection } from '../../../lib/sink/index.ts';
import { caught, expectNoSecret } from '../../helpers/secrets.ts';

// The database secret (DATABASE_SECRET_ARN) on AWS: what resolveConnection makes of it, and that
// no error it throws carries any of the secret's text into a log (a SyntaxError of JSON.parse
// quotes it: `Unexpected token 'h', "hunter2" is not valid JSON`).

const SETTINGS: DatabaseSettings = {
  databaseUrl: 'postgres://postgres@127.0.0.1:5432/flink_db',
  databaseSecretArn: 'arn:aws:secretsmanager:us-east-1:111122223333:secret:sessionizer/prod/database-Ab12Cd',
  databaseSsl: 'verify-full',
  region: 'us-east-1',
};

const PASSWORD = 'hunter2-Zq9';

/** A SecretReader that returns `text`. */
const secretOf = (text: string) => async () => text;

describe('resolveConnection with a database secret', () => {
  it('connects with the fields of an RDS-shaped secret', async () => {
    // Act
    const config = await resolveConnection(
      SETTINGS,
      secretOf(JSON.stringify({ host: 'db.example', port: 5433, username: 'app', password: PASSWORD })),
    );

    // Assess
    expect(config).toEqual({
      host: 'db.example',
      port: 5433,
      user: 'app',
      password: PASSWORD,
      database: 'flink_db',
      ssl: { rejectUnauthorized: true },
    });
  });

  it.each([
    { what: 'plain text', text: PASSWORD },
    {
      what: 'JSON with a syntax error after the password',
      text: `{"username": "app", "password": "${PASSWORD}" x}`,
    },
    { what: 'JSON cut short', text: `{"username": "app", "password": "${PASSWORD}` },
    { what: 'a JSON string', text: JSON.stringify(PASSWORD) },
    { what: 'a JSON array', text: JSON.stringify(['app', PASSWORD]) },
    { what: 'JSON null', text: 'null' },
  ])('refuses a secret that is not a JSON object ($what), without any of its text', async ({ text }) => {
    // Act
    const error = await caught(() => resolveConnection(SETTINGS, secretOf(text)));

    // Assess
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain('DATABASE_SECRET_ARN');
    expect(error.message).toContain('not a JSON object');
    expect(error.message).toContain('"host", "port", "username", "password", "dbname"');
    expect(error.cause).toBeUndefined();
    expectNoSecret(error, PASSWORD);
    expectNoSecret(error, 'app');
  });

  it('names the fields a JSON secret lacks, not their values', async () => {
    // Act
    const error = await caught(() =>
      resolveConnection(SETTINGS, secretOf(JSON.stringify({ password: PASSWORD, dbname: 'x' }))),
    );

    // Assess
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain('the secret lacks host, username');
    expectNoSecret(error, PASSWORD);
  });

  it('reports a secret it cannot read as retryable, without a secret in it', async () => {
    // Act
    const error = await caught(() =>
      resolveConnection(SETTINGS, async () => {
        throw new Error('AccessDeniedException: not authorized to perform secretsmanager:GetSecretValue');
      }),
    );

    // Assess
    expect(error).toBeInstanceOf(SinkUnavailableError);
    expect(error.message).toContain('Cannot read the database secret: AccessDeniedException');
  });
});
