import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { ConfigError } from '../errors.ts';

/*
 * Secrets Manager, read one way for every secret the functions use (the database's, the Kafka
 * credentials'): Powertools Parameters, cached, injectable for tests.
 */

/**
 * Reads a secret's value. `fresh` skips any cache: the caller was just refused the credentials
 * it holds (the secret was rotated). Production reads Secrets Manager (secretsManagerReader);
 * tests inject a stand-in.
 */
export type SecretReader = (secretArn: string, options: { readonly fresh: boolean }) => Promise<string>;

/**
 * How long a read secret is reused without asking Secrets Manager again. The secret is read when a
 * container builds its pool and again whenever PostgreSQL refuses the credentials, so this only
 * bounds the calls when pools are rebuilt for other reasons.
 */
export const SECRET_MAX_AGE_SECONDS = 300;

/** Secrets Manager through Powertools Parameters, cached for SECRET_MAX_AGE_SECONDS. */
export function secretsManagerReader(region: string): SecretReader {
  let provider: SecretsProvider | undefined;
  return async (secretArn, { fresh }) => {
    provider ??= new SecretsProvider({ clientConfig: { region } });
    const value = await provider.get(secretArn, { maxAge: SECRET_MAX_AGE_SECONDS, forceFetch: fresh });
    if (typeof value !== 'string') throw new Error('the secret has no SecretString');
    return value;
  };
}

/**
 * A Secrets Manager secret's text as the JSON object it must be. JSON.parse's SyntaxError quotes
 * the text it could not read (Node 20: `Unexpected token 'h', "hunter2" is not valid JSON`), so it
 * is dropped here: the ConfigError names the setting and the shape expected, never any part of the
 * secret, and carries no cause.
 *
 * @param setting the environment variable that names the secret (DATABASE_SECRET_ARN, ...)
 * @param shape   the fields expected, for the message
 */
export function parseJsonSecret(text: string, setting: string, shape: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError(
      `${setting}: the secret's value is not a JSON object in the expected shape ${shape} ` +
        '(its text is not shown here)',
    );
  }
  return parsed as Record<string, unknown>;
}
