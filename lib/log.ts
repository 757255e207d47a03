/**
 * Structured JSON log lines (one object per line, as CloudWatch Logs Insights expects). One line
 * per batch at info; nothing per record above debug. LOG_LEVEL: debug | info | warn | error.
 */
const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 } as const;
export type LogLevel = keyof typeof LEVELS;

const threshold =
  LEVELS[(process.env.LOG_LEVEL?.toLowerCase() as LogLevel | undefined) ?? 'info'] ?? LEVELS.info;

function write(level: LogLevel, message: string, fields: Record<string, unknown>): void {
  if (LEVELS[level] < threshold) return;
  const line = JSON.stringify({
    level,
    message,
    timestamp: new Date().toISOString(),
    service: 'sessionizer',
    ...fields,
  });
  if (LEVELS[level] >= LEVELS.warn) console.error(line);
  else console.log(line);
}

export const log = {
  debug: (message: string, fields: Record<string, unknown> = {}) => write('debug', message, fields),
  info: (message: string, fields: Record<string, unknown> = {}) => write('info', message, fields),
  warn: (message: string, fields: Record<string, unknown> = {}) => write('warn', message, fields),
  error: (message: string, fields: Record<string, unknown> = {}) => write('error', message, fields),
};

/** An error as log fields: name, message, code, retryable, and the cause's message. */
export function errorFields(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { error: String(error) };
  const e = error as Error & { code?: unknown; retryable?: unknown };
  return {
    error: e.message,
    errorName: e.name,
    errorCode: e.code,
    retryable: e.retryable,
    cause: e.cause instanceof Error ? e.cause.message : undefined,
  };
}
