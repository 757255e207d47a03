import type { KafkaRecord } from '../decode/index.ts';
import { checkUserId, fromKafkaTime, fromPayloadTime } from './event-rules.ts';
import { timeFromNumber, timeFromText } from './event-time.ts';
import { reject, rejectValue } from './rejections.ts';
import { trimField } from './text-fields.ts';
import type { FieldMapping, FieldOptions, FieldPath, ParseOptions, ParseResult } from './types.ts';

/**
 * The field mapping of object values (docs/DESIGN.md section 2): where the user id and the event
 * time are in a JSON object or a decoded Avro or Protobuf record, as dotted paths (USER_ID_FIELD,
 * EVENT_TIME_FIELD), and the unit of a numeric time (EVENT_TIME_UNIT). The defaults are the lab's
 * {"userId": "user_A", "timestamp": 1000}. Every failure is a rejection whose detail starts with
 * the path (`field "user.id": ...`).
 */
export const DEFAULT_FIELDS: FieldMapping = {
  userIdField: 'userId',
  eventTimeField: 'timestamp',
  eventTimeUnit: 'ms',
};

/** Why `path` is not a usable field path, or undefined: names joined by ".", none of them empty. */
export function fieldPathProblem(path: string): string | undefined {
  if (path.split('.').some((segment) => segment === '')) {
    return 'must be a field name or a dotted path such as user.id (no empty part, no leading or trailing dot)';
  }
  return undefined;
}

/** The mapping as the parser walks it: each path cut once, not once per record. */
export function fieldOptions(mapping: FieldMapping): FieldOptions {
  return {
    userId: { name: mapping.userIdField, segments: mapping.userIdField.split('.') },
    eventTime: { name: mapping.eventTimeField, segments: mapping.eventTimeField.split('.') },
    unit: mapping.eventTimeUnit,
  };
}

const DEFAULT_OPTIONS = fieldOptions(DEFAULT_FIELDS);

/** Where a path leads in an object: to a value, or to nothing (and which part found nothing, and why). */
type Found =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly missing: boolean; readonly detail: string };

/**
 * The value at `path` in `root`. A part that is absent or null is missing (JSON null is what many
 * producers write for "none"); a part that is there but holds no object is of the wrong type.
 * Own properties only, so a path never reaches into Object.prototype ("constructor", "__proto__").
 */
function find(root: unknown, path: FieldPath): Found {
  let current = root;
  const { segments } = path;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] as string;
    if (!isObject(current)) {
      const where = i === 0 ? 'the value' : quotePath(segments, i);
      return {
        ok: false,
        missing: false,
        detail: `${where} is ${describe(current)}, not an object holding "${segment}"`,
      };
    }
    const next = Object.hasOwn(current, segment) ? current[segment] : undefined;
    if (next === undefined || next === null) {
      return {
        ok: false,
        missing: true,
        detail: `${quotePath(segments, i + 1)} is ${next === null ? 'null' : 'missing'}`,
      };
    }
    current = next;
  }
  return { ok: true, value: current };
}

/**
 * An object value (JSON object, decoded Avro or Protobuf record) as an event, or why not. `text`
 * is the value's text when it was JSON (undefined for binary formats: the rejection stores bytes).
 */
export function parseObject(
  record: KafkaRecord,
  text: string | undefined,
  value: unknown,
  options: ParseOptions,
): ParseResult {
  const fields = options.fields ?? DEFAULT_OPTIONS;
  const user = find(value, fields.userId);
  if (!user.ok) return fieldRejection(record, text, fields.userId, user, 'user id');
  if (typeof user.value !== 'string') {
    return reject(
      rejectValue(
        record,
        text,
        'wrong_field_type',
        `field ${quote(fields.userId.name)}: the user id is ${describe(user.value)}, expected a string`,
      ),
    );
  }
  // Trimmed like the text form's field, so both forms give the same group_key.
  const userId = trimField(user.value);
  const bad = checkUserId(record, text, userId, options.maxUserIdLength);
  if (bad !== undefined)
    return reject({ ...bad, detail: `field ${quote(fields.userId.name)}: ${bad.detail}` });
  if (options.eventTimeSource === 'kafka') return fromKafkaTime(record, text, userId, options);

  const time = find(value, fields.eventTime);
  if (!time.ok) return fieldRejection(record, text, fields.eventTime, time, 'event time');
  let parsed: ParseResult;
  if (typeof time.value === 'number') {
    const ms = timeFromNumber(time.value, fields.unit, options.maxEventTimeMs);
    parsed = fromPayloadTime(record, text, userId, ms, String(time.value), fields.unit, options);
  } else if (typeof time.value === 'string') {
    // Producers that quote numbers are common; ISO-8601 times are strings too. Protobuf int64
    // fields arrive here as decimal strings (schema-values.ts), so they follow the same rules.
    const field = trimField(time.value);
    const ms = timeFromText(field, fields.unit, options.maxEventTimeMs);
    parsed = fromPayloadTime(record, text, userId, ms, field, fields.unit, options);
  } else {
    return reject(
      rejectValue(
        record,
        text,
        'wrong_field_type',
        `field ${quote(fields.eventTime.name)}: the event time is ${describe(time.value)}, expected ` +
          `epoch ${fields.unit === 's' ? 'seconds' : 'milliseconds'} (a number or a numeric string) or an ISO-8601 time`,
      ),
    );
  }
  if (parsed.ok) return parsed;
  return reject({
    ...parsed.rejection,
    detail: `field ${quote(fields.eventTime.name)}: ${parsed.rejection.detail}`,
  });
}

function fieldRejection(
  record: KafkaRecord,
  text: string | undefined,
  path: FieldPath,
  found: { missing: boolean; detail: string },
  what: string,
): ParseResult {
  return reject(
    rejectValue(
      record,
      text,
      found.missing ? 'missing_field' : 'wrong_field_type',
      `field ${quote(path.name)}: ${found.detail}, so the value has no ${what}`,
    ),
  );
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}

/** The path's first `count` parts, quoted as written: "user.id". */
function quotePath(segments: readonly string[], count: number): string {
  return quote(segments.slice(0, count).join('.'));
}

function quote(text: string): string {
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}...` : text);
}

/** What a value is, for a detail: `a number (42)`, `an object`, `a boolean (true)`. */
function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'missing';
  if (Array.isArray(value)) return 'an array';
  if (Buffer.isBuffer(value)) return 'bytes';
  if (typeof value === 'object') return 'an object';
  const shown = JSON.stringify(typeof value === 'bigint' ? String(value) : value) ?? String(value);
  return `a ${typeof value} (${shown.length > 40 ? `${shown.slice(0, 40)}...` : shown})`;
}
