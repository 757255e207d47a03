/**
 * The error hierarchy. Every error says whether retrying the same work can succeed: the handler
 * throws retryable errors so the event source mapping re-delivers the batch, and reports the
 * others with a clear message. SDK and `pg` errors are mapped to these where they enter.
 */

export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'EVENT_INVALID'
  | 'CHECKPOINT_UNAVAILABLE'
  | 'CHECKPOINT_CONFLICT'
  | 'CHECKPOINT_CORRUPT'
  | 'CHECKPOINT_LOST'
  | 'CHECKPOINT_INCOMPATIBLE'
  | 'SETTINGS_CHANGED'
  | 'SINK_UNAVAILABLE'
  | 'SINK_FENCED'
  | 'SINK_REJECTED'
  | 'SINK_DATA'
  | 'PARTITION_TOO_LARGE';

export class SessionizerError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options: { retryable: boolean; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable;
  }
}

/** A setting is missing or invalid; the message names every bad setting. Never retryable. */
export class ConfigError extends SessionizerError {
  constructor(message: string) {
    super('CONFIG_INVALID', message, { retryable: false });
  }
}

/** The Lambda event is not a Kafka event we understand (not a bad record: a bad envelope). */
export class EventShapeError extends SessionizerError {
  constructor(message: string, cause?: unknown) {
    super('EVENT_INVALID', message, { retryable: false, cause });
  }
}

/** DynamoDB could not be reached or throttled us; the batch must be re-delivered. */
export class CheckpointUnavailableError extends SessionizerError {
  constructor(message: string, cause?: unknown) {
    super('CHECKPOINT_UNAVAILABLE', message, { retryable: true, cause });
  }
}

/**
 * Another invocation (a retry that took over, or a zombie) changed the partition's checkpoint
 * since we read it: we lost the fencing race, so nothing of ours is committed and the batch is
 * retried. (The sweep never writes the checkpoint.)
 */
export class CheckpointConflictError extends SessionizerError {
  constructor(
    message: string,
    cause?: unknown,
    /**
     * What the winner left, when the store got it with the refusal (DynamoDB's
     * ReturnValuesOnConditionCheckFailure: ALL_OLD), so the retry need not read it again. The
     * store says what it is (lib/checkpoint: the partition's PartitionCheckpoint).
     */
    readonly current?: unknown,
  ) {
    super('CHECKPOINT_CONFLICT', message, { retryable: true, cause });
  }
}

/** A stored checkpoint item cannot be read back (wrong shape). Retrying will not help. */
export class CheckpointCorruptError extends SessionizerError {
  constructor(message: string, cause?: unknown) {
    super('CHECKPOINT_CORRUPT', message, { retryable: false, cause });
  }
}

/**
 * The checkpoint lost state that PostgreSQL shows was there (docs/STATE.md section 5): a missing
 * table or partition item, an epoch that went backwards, a missing state piece. Processing on would
 * silently undercount, so the batch fails, is not retried in the invocation, and the message says
 * how to recover.
 */
export class CheckpointLostError extends SessionizerError {
  constructor(message: string, cause?: unknown) {
    super('CHECKPOINT_LOST', message, { retryable: false, cause });
  }
}

/** The checkpoint table holds another layout (e.g. the earlier per-user items): it is not misread. */
export class CheckpointIncompatibleError extends SessionizerError {
  constructor(message: string) {
    super('CHECKPOINT_INCOMPATIBLE', message, { retryable: false });
  }
}

/**
 * The job's settings that decide the rows (gap, out-of-orderness, allowed lateness, event time
 * source, future guard) differ from those the checkpoint was built with: folding on would mix two
 * definitions of a session. Not retryable; the message names both values of every setting.
 */
export class SettingsChangedError extends SessionizerError {
  constructor(message: string) {
    super('SETTINGS_CHANGED', message, { retryable: false });
  }
}

/** PostgreSQL could not be reached or the transaction failed transiently. */
export class SinkUnavailableError extends SessionizerError {
  constructor(message: string, cause?: unknown) {
    super('SINK_UNAVAILABLE', message, { retryable: true, cause });
  }
}

/**
 * The sink's fence row refused the write (docs/STATE.md section 5): PostgreSQL was last written by
 * `fenceGeneration` with `fenceEpoch`, which is not older than our claim. The pipeline decides what
 * that means: a newer claim exists (we are a zombie: retry), or the checkpoint went back (lost).
 */
export class SinkFencedError extends SessionizerError {
  constructor(
    message: string,
    readonly fenceGeneration: string,
    readonly fenceEpoch: number,
  ) {
    super('SINK_FENCED', message, { retryable: true });
  }
}

/** PostgreSQL refused the statement for a reason retrying will not fix (schema, permissions). */
export class SinkRejectedError extends SessionizerError {
  constructor(message: string, cause?: unknown) {
    super('SINK_REJECTED', message, { retryable: false, cause });
  }
}

/**
 * The sink refused the data of a batch, deterministically: a PostgreSQL data exception (SQLSTATE
 * class 22), an integrity violation (23), a program limit (54), or a value the sink could not
 * encode (a RangeError or TypeError while building the statement). Retrying the same batch fails
 * the same way, so the pipeline finds the record that causes it and diverts it
 * (lib/pipeline/isolate.ts) instead of retrying.
 */
export class SinkDataError extends SessionizerError {
  constructor(message: string, cause?: unknown) {
    super('SINK_DATA', message, { retryable: false, cause });
  }
}

/**
 * A partition's state cannot fit this container's memory (docs/DEPLOY.md, "Sizing"): refused before
 * it is read, rather than letting the container die out of memory without a word. Not retryable on
 * the same memory; `details` are the log line's fields (partition, live users, memory needed).
 */
export class PartitionTooLargeError extends SessionizerError {
  constructor(
    message: string,
    readonly details: Readonly<Record<string, unknown>>,
  ) {
    super('PARTITION_TOO_LARGE', message, { retryable: false });
  }
}

export function isRetryable(error: unknown): boolean {
  return error instanceof SessionizerError ? error.retryable : true;
}

/**
 * An error retrying cannot fix carries "[<CODE>, not retryable]" at the start of its message: the
 * one part of an error that reaches every invoker (Lambda's errorMessage, serverless-offline's
 * worker thread), so the local trigger can stop retrying that partition (offline/reader.ts).
 */
export function markNotRetryable(error: unknown): unknown {
  if (isRetryable(error) || !(error instanceof Error)) return error;
  const code = (error as { code?: string }).code ?? error.name;
  if (!isMarkedNotRetryable(error.message)) error.message = `[${code}, not retryable] ${error.message}`;
  return error;
}

/** Whether an error message carries markNotRetryable's mark (an invoker may have prefixed it). */
export function isMarkedNotRetryable(message: string): boolean {
  return /\[[A-Z_]+, not retryable\]/.test(message);
}
