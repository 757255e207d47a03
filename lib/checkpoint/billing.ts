import type { StoreStats } from './types.ts';

/*
 * DynamoDB's billing units, from item sizes as DynamoDB counts them
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html):
 * an item is the sum of its attribute names (UTF-8 bytes) and values; a number is about one byte
 * per two significant digits plus one; a binary its length; a map or list 3 bytes plus one per
 * element plus its contents. Writes cost one unit per KB of the item, rounded up; strongly
 * consistent reads one unit per 4 KB. Estimates for the benchmark's cost model, not invoices.
 */

export function itemBytes(item: object): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(item)) {
    if (value === undefined) continue;
    bytes += Buffer.byteLength(name) + valueBytes(value);
  }
  return bytes;
}

function valueBytes(value: unknown): number {
  if (value === null || typeof value === 'boolean') return 1;
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (typeof value === 'number')
    return Math.ceil(String(Math.abs(value)).replace(/^0+|\.|e.*$/g, '').length / 2) + 1;
  if (value instanceof Uint8Array) return value.length;
  if (value instanceof Set) return [...value].reduce((n: number, v) => n + valueBytes(v), 0);
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + 1 + valueBytes(v), 3);
  if (typeof value === 'object') {
    return Object.entries(value as Record<string, unknown>).reduce(
      (n, [k, v]) => (v === undefined ? n : n + 1 + Buffer.byteLength(k) + valueBytes(v)),
      3,
    );
  }
  return 0;
}

/** Counters at zero (StoreStats). */
export function emptyStoreStats(): StoreStats {
  return {
    calls: 0,
    itemsRead: 0,
    itemsWritten: 0,
    readUnits: 0,
    writeUnits: 0,
    bytesRead: 0,
    bytesWritten: 0,
  };
}

export const writeUnits = (bytes: number): number => Math.max(1, Math.ceil(bytes / 1024));
export const consistentReadUnits = (bytes: number): number => Math.max(1, Math.ceil(bytes / 4096));
