/*
 * DynamoDB limits and the checkpoint layout's own sizes (docs/DESIGN.md section 5, docs/STATE.md).
 */

/** BatchGetItem takes at most 100 keys (and returns at most 16 MB: the rest comes back unprocessed). */
export const BATCH_GET_KEYS = 100;
/** BatchWriteItem takes at most 25 puts or deletes. */
export const BATCH_WRITE_ITEMS = 25;
/**
 * Bytes of a state image per piece item. DynamoDB refuses items over 400 KB (attribute names and
 * values); this leaves room for the key and the TTL attribute.
 */
export const PIECE_BYTES = 350_000;
/** Requests a store sends at once for one partition (piece reads and writes). */
export const PARALLEL_REQUESTS = 4;
/** Retries of UnprocessedKeys / UnprocessedItems before the batch fails (and is retried whole). */
export const UNPROCESSED_RETRIES = 8;

/** The table layout this code reads and writes; the `meta` item records it. */
export const LAYOUT = 2;
/** The encoding of the state images this code writes (image.ts); the manifest names each image's. */
export const IMAGE_FORMAT = 2;
/** The deflated JSON of release 0.1.0 and the layouts before IMAGE_FORMAT 2, still read (legacy-image.ts). */
export const LEGACY_IMAGE_FORMAT = 1;

/** The TTL attribute (epoch seconds): set on every piece; DynamoDB deletes expired items for free. */
export const TTL_ATTRIBUTE = 'expiresAt';

/**
 * The sweep's `partitions` control record (docs/DEPLOY.md, "Adding partitions"): a record with a
 * null value and the control header (lib/decode/control-records.ts: a control record that folds
 * nothing) of this value, and the topic's partition count in PARTITIONS_HEADER. The job records the
 * count in `meta` when it reads one.
 */
export const PARTITIONS_CONTROL_VALUE = 'partitions';
export const PARTITIONS_HEADER = 'sessionizer-partitions';
