import { describe, expect, it } from 'vitest';
import { ensureDatabase } from '../../../lib/sink/index.ts';
import { caught, expectNoSecret } from '../../helpers/secrets.ts';

// npm run services:up and npm run migrate create the database DATABASE_URL names. A URL that does
// not parse must not carry its password into the error (Node's TypeError keeps the whole input).

describe('ensureDatabase', () => {
  it('refuses a DATABASE_URL that does not parse, showing it without its password', async () => {
    // Act
    const error = await caught(() => ensureDatabase('postgres://app:hunter2-Zq9@db.example:port/flink_db'));

    // Assess
    expect(error.message).toBe(
      'DATABASE_URL is not a valid URL: postgres://app:***@db.example:port/flink_db',
    );
    expectNoSecret(error, 'hunter2-Zq9');
  });

  it('refuses a DATABASE_URL without a database name, showing it without its password', async () => {
    // Act
    const error = await caught(() => ensureDatabase('postgres://app:hunter2-Zq9@127.0.0.1:5432/'));

    // Assess
    expect(error.message).toBe('DATABASE_URL names no database: postgres://app:***@127.0.0.1:5432/');
    expectNoSecret(error, 'hunter2-Zq9');
  });
});
