/**
 * Keeping secrets out of messages and logs: the one place that decides how a URL or a setting's
 * value may be shown. A ConfigError's message reaches the Lambda error, the logs and the terminal,
 * so a password must never be in it, not even in a value that failed validation.
 */

/** `scheme://` at the start: a value shown only in its redacted form. */
const URL_SHAPED = /^[a-z][a-z0-9+.-]*:\/\//i;

/** Settings whose values are never shown, whatever they hold (names with SECRET, PASSWORD or TOKEN). */
const HIDDEN_SETTING = /SECRET|PASSWORD|TOKEN/i;

/** Settings shown only redacted, even when they do not look like a URL (a connection string). */
const URL_SETTINGS: ReadonlySet<string> = new Set(['DATABASE_URL']);

/**
 * A URL as it may be shown: the password of `user:password@` replaced by `***` (everything from the
 * first `:` after `://` to the last `@`, so a password with an unencoded `@` or `:` is hidden whole),
 * and so is the value of any `password` query parameter (`?password=`, `&sslpassword=`). A value
 * that is not URL-shaped (no `scheme://` at its start) is not shown at all: it might be a
 * `key=value` connection string with its password in it.
 */
export function redactUrl(value: string): string {
  if (!URL_SHAPED.test(value.trim())) return '(not a URL; not shown)';
  let out = value;
  const scheme = out.indexOf('://') + 3;
  const at = out.lastIndexOf('@');
  if (at >= scheme) {
    const colon = out.indexOf(':', scheme);
    if (colon !== -1 && colon < at) out = `${out.slice(0, colon + 1)}***${out.slice(at)}`;
  }
  return out.replace(/([?&][^=&#]*password=)[^&#]*/gi, '$1***');
}

/**
 * A setting's value for a message such as `KEY=<shown>: why`: quoted as it is, except that values
 * of secret settings are never shown, and DATABASE_URL and any URL-shaped value are shown redacted.
 * An empty value is `""` (it holds nothing to hide, and says the setting is unset).
 */
export function shownSetting(key: string, value: string): string {
  if (value === '') return '""';
  if (HIDDEN_SETTING.test(key)) return '(set; value not shown)';
  if (URL_SHAPED.test(value.trim())) return JSON.stringify(redactUrl(value));
  // Not URL-shaped, so redactUrl's placeholder (unquoted: it is not the value).
  if (URL_SETTINGS.has(key)) return redactUrl(value);
  return JSON.stringify(value);
}
