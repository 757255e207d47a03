/**
 * Cuts items, in order, into chunks of at most `maxCount` items and at most `maxBytes` by
 * `sizeOf`. An item larger than `maxBytes` still goes, alone. Used for the DynamoDB request
 * limits (100 actions / 4 MB a transaction) and the Lambda event limits (batch size / 6 MB).
 */
export function chunkBySize<T>(
  items: readonly T[],
  maxCount: number,
  maxBytes: number,
  sizeOf: (item: T) => number,
): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = sizeOf(item);
    if (current.length > 0 && (current.length >= maxCount || bytes + size > maxBytes)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
