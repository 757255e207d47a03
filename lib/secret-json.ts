import { ConfigError } from './errors.ts';

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
