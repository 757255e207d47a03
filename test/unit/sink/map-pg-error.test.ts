import { describe, expect, it } from 'vitest';
import {
  SinkDataError,
  SinkFencedError,
  SinkRejectedError,
  SinkUnavailableError,
} from '../../../lib/errors.ts';
import { mapPgError } from '../../../lib/sink/index.ts';

// What retrying can fix decides a partition's fate: a retryable error is retried (the event source
// redelivers the batch), data errors send the pipeline looking for the record to divert
// (lib/pipeline/isolate.ts), the rest stop the partition with the message. A misclassification
// either retries for ever or stops for nothing.

const pgError = (code: string, message = 'boom') => Object.assign(new Error(message), { code });

describe('mapPgError', () => {
  it.each([
    ['08006', 'connection failure'],
    ['53300', 'too many connections'],
    ['57P01', 'admin shutdown'],
    ['57014', 'statement timeout (query_canceled)'],
    ['40001', 'serialization failure'],
    ['40P01', 'deadlock'],
    ['55P03', 'lock not available'],
    ['58030', 'I/O error'],
  ])('%s (%s) is retryable: SinkUnavailableError', (code) => {
    expect(mapPgError(pgError(code))).toBeInstanceOf(SinkUnavailableError);
  });

  it.each([
    ['22001', 'string too long'],
    ['22008', 'datetime out of range'],
    ['22021', 'character not in repertoire (NUL)'],
    ['22P02', 'invalid text representation'],
    ['23502', 'not null violation'],
    ['23514', 'check violation'],
    ['54000', 'program limit exceeded'],
  ])('%s (%s) is the data: SinkDataError, not retryable', (code) => {
    const mapped = mapPgError(pgError(code));
    expect(mapped).toBeInstanceOf(SinkDataError);
    expect(mapped).toMatchObject({ retryable: false });
  });

  it.each([
    ['42P01', 'undefined table'],
    ['42703', 'undefined column'],
    ['42501', 'insufficient privilege'],
    ['28P01', 'password authentication failed'],
    ['3D000', 'no such database'],
  ])('%s (%s) is the setup: SinkRejectedError, not retryable', (code) => {
    const mapped = mapPgError(pgError(code));
    expect(mapped).toBeInstanceOf(SinkRejectedError);
    expect(mapped).toMatchObject({ retryable: false });
  });

  it('treats network errors (Node codes, not SQLSTATEs) and errors without a code as retryable', () => {
    expect(mapPgError(pgError('ECONNREFUSED'))).toBeInstanceOf(SinkUnavailableError);
    expect(mapPgError(pgError('EPIPE'))).toBeInstanceOf(SinkUnavailableError);
    expect(mapPgError(new Error('Connection terminated unexpectedly'))).toBeInstanceOf(SinkUnavailableError);
  });

  it('passes the domain errors through as they are', () => {
    const fenced = new SinkFencedError('refused', 'g', 1);
    expect(mapPgError(fenced)).toBe(fenced);
  });
});
