/**
 * Lambda event filtering for Kafka event source mappings (`filterPatterns` in serverless.yml,
 * FilterCriteria on AWS): only the record's `value` can be filtered; a JSON value is matched
 * field by field, any other value as one plain string. A record matches when any pattern
 * matches; within a pattern every field must match, and a field matches when any of its
 * listed conditions does. https://docs.aws.amazon.com/lambda/latest/dg/kafka-filtering.html and
 * the rule syntax of https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html
 * (exact values, prefix, suffix, equals-ignore-case, anything-but, exists, numeric).
 */
import type { KafkaRecord } from '../lib/decode/index.ts';

export type FilterPattern = Record<string, unknown>;

/** Parses serverless.yml's `filterPatterns` (objects, or JSON strings as FilterCriteria holds). */
export function parseFilterPatterns(raw: unknown): FilterPattern[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw new Error('filterPatterns must be a list of patterns');
  return raw.map((p, i) => {
    const pattern = typeof p === 'string' ? (JSON.parse(p) as unknown) : p;
    if (pattern === null || typeof pattern !== 'object' || Array.isArray(pattern)) {
      throw new Error(`filterPatterns[${i}] must be an object such as {"value": {"userId": ["user_A"]}}`);
    }
    return pattern as FilterPattern;
  });
}

/** True when the record passes (no patterns: everything passes). */
export function passesFilters(record: KafkaRecord, patterns: readonly FilterPattern[]): boolean {
  if (patterns.length === 0) return true;
  const text = record.value === null ? null : record.value.toString('utf8');
  let value: unknown = text;
  if (text !== null) {
    try {
      const parsed = JSON.parse(text) as unknown;
      if (parsed !== null && typeof parsed === 'object') value = parsed;
    } catch {
      // Not JSON: filtered as a plain string.
    }
  }
  return patterns.some((pattern) => matchObject({ value }, pattern));
}

function matchObject(data: unknown, pattern: FilterPattern): boolean {
  return Object.entries(pattern).every(([key, rule]) => {
    const present = data !== null && typeof data === 'object' && key in (data as object);
    const field = present ? (data as Record<string, unknown>)[key] : undefined;
    if (Array.isArray(rule)) return rule.some((condition) => matchCondition(field, present, condition));
    if (rule !== null && typeof rule === 'object')
      return present && matchObject(field, rule as FilterPattern);
    return false;
  });
}

function matchCondition(field: unknown, present: boolean, condition: unknown): boolean {
  if (condition === null || typeof condition !== 'object') {
    // An exact value; a field holding a list matches when any element does.
    return Array.isArray(field) ? field.some((f) => f === condition) : present && field === condition;
  }
  const [operator, operand] = Object.entries(condition as Record<string, unknown>)[0] ?? [];
  const values = Array.isArray(field) ? field : [field];
  switch (operator) {
    case 'exists':
      return operand === present;
    case 'prefix':
      return present && values.some((v) => typeof v === 'string' && v.startsWith(String(operand)));
    case 'suffix':
      return present && values.some((v) => typeof v === 'string' && v.endsWith(String(operand)));
    case 'equals-ignore-case':
      return (
        present &&
        values.some((v) => typeof v === 'string' && v.toLowerCase() === String(operand).toLowerCase())
      );
    case 'anything-but':
      return present && values.every((v) => !matchesAnythingBut(v, operand));
    case 'numeric':
      return present && values.some((v) => typeof v === 'number' && matchesNumeric(v, operand));
    default:
      return false;
  }
}

function matchesAnythingBut(value: unknown, operand: unknown): boolean {
  if (Array.isArray(operand)) return operand.includes(value);
  if (operand !== null && typeof operand === 'object' && 'prefix' in operand) {
    return typeof value === 'string' && value.startsWith(String((operand as { prefix: unknown }).prefix));
  }
  return value === operand;
}

function matchesNumeric(value: number, operand: unknown): boolean {
  if (!Array.isArray(operand)) return false;
  for (let i = 0; i + 1 < operand.length; i += 2) {
    const bound = Number(operand[i + 1]);
    const ok =
      operand[i] === '='
        ? value === bound
        : operand[i] === '<'
          ? value < bound
          : operand[i] === '<='
            ? value <= bound
            : operand[i] === '>'
              ? value > bound
              : operand[i] === '>='
                ? value >= bound
                : false;
    if (!ok) return false;
  }
  return true;
}
