import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';

/**
 * Structured JSON log lines through Powertools Logger (one object per line, as CloudWatch Logs
 * Insights expects; on Lambda it adds the request id and honours Lambda's log-level control).
 * One line per batch at info; nothing per record above debug.
 *
 * LOG_LEVEL (or POWERTOOLS_LOG_LEVEL): trace | debug | info | warn | error | critical | silent, any
 * case. An unknown value logs at info here and stops start-up in loadConfig, which names it.
 */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'critical', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

function logLevelFrom(env: NodeJS.ProcessEnv): LogLevel | undefined {
  const raw = (env.POWERTOOLS_LOG_LEVEL || env.LOG_LEVEL)?.trim().toLowerCase();
  return LOG_LEVELS.find((level) => level === raw);
}

const logger = new Logger({
  serviceName: process.env.POWERTOOLS_SERVICE_NAME || 'sessionizer',
  logLevel: (logLevelFrom(process.env) ?? 'info').toUpperCase() as Uppercase<LogLevel>,
});

type Fields = Record<string, unknown>;

export const log = {
  debug: (message: string, fields: Fields = {}) => logger.debug(message, fields),
  info: (message: string, fields: Fields = {}) => logger.info(message, fields),
  warn: (message: string, fields: Fields = {}) => logger.warn(message, fields),
  error: (message: string, fields: Fields = {}) => logger.error(message, fields),
  critical: (message: string, fields: Fields = {}) => logger.critical(message, fields),
};

/**
 * Wraps a handler so that every log line of an invocation carries the Lambda context:
 * function_request_id, function_name, function_arn, function_memory_size, cold_start (Powertools
 * Logger's context injection, the same keys as its injectLambdaContext).
 */
export function withLambdaContext<E, R>(
  handler: (event: E, context: Context) => Promise<R>,
): (event: E, context: Context) => Promise<R> {
  return (event, context) => {
    // A caller without a context (a script, a test) still gets the handler.
    if (context !== undefined) logger.addContext(context);
    return handler(event, context);
  };
}

/** An error as log fields: name, message, code, retryable, and the cause's message. */
export function errorFields(error: unknown): Fields {
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
