/**
 * How the benchmark's parent and its tier processes talk (node IPC): each tier runs in a process
 * of its own so its peak RSS is its own. The child reports progress and one result.
 */
export interface Progress {
  readonly type: 'progress';
  readonly phase: string;
  readonly done: number;
  readonly total: number;
  readonly unit: string;
}

export interface ResultMessage<T> {
  readonly type: 'result';
  readonly result: T;
}

export interface Ready {
  readonly type: 'ready';
  /** The PostgreSQL schema the child writes to, for the parent to watch. */
  readonly schema?: string;
}

export type ChildMessage<T = unknown> = Progress | ResultMessage<T> | Ready;

/**
 * Cost of a tier, per 1,000 events. DynamoDB's billing units come from the store's counters, which
 * size every item read and written the way DynamoDB bills it (lib/checkpoint/units.ts).
 */
export interface Cost {
  readonly dynamodbCalls: number;
  /** Read request units (strongly consistent: 1 per 4 KB of each item). */
  readonly readUnits: number;
  /** Write request units (1 per KB of each item written). */
  readonly writeUnits: number;
  /** Bytes of items written, in KB. */
  readonly kbWritten: number;
  readonly pgStatements: number;
}

/** DynamoDB on-demand prices, us-east-1, $ per million request units (since November 2024). */
export const PRICE = { writeUnit: 0.625, readUnit: 0.125 } as const;

/** What the checkpoint costs on AWS on demand, in $ per million events. */
export function dollarsPerMillionEvents(cost: Cost): number {
  // Units per 1,000 events x 1,000 = units per million events; x price per million units.
  return (cost.writeUnits * PRICE.writeUnit + cost.readUnits * PRICE.readUnit) / 1000;
}

/** One row of the summary table. */
export interface TierRow {
  readonly tier: string;
  readonly detail: string;
  readonly events: number;
  readonly seconds: number;
  readonly eventsPerSecond: number;
  readonly costPer1k: Cost | null;
  readonly peakRssMb: number;
  /** Free-form notes printed under the table (ratios, latency, checks). */
  readonly notes?: readonly string[];
}

export function progress(phase: string, done: number, total: number, unit = 'events'): void {
  process.send?.({ type: 'progress', phase, done, total, unit } satisfies Progress);
}

export function report<T>(result: T): Promise<void> {
  return new Promise((resolve) => {
    if (process.send === undefined) {
      console.log(JSON.stringify(result, null, 2));
      resolve();
      return;
    }
    process.send({ type: 'result', result } satisfies ResultMessage<T>, () => resolve());
  });
}

/** This process's peak resident set size so far, in MB. */
export function peakRssMb(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

/** Options are passed as one JSON argument. */
export function childOptions<T>(): T {
  return JSON.parse(process.argv[2] ?? '{}') as T;
}
