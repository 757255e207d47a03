import { SessionOperator } from './operator.ts';
import type {
  EmittedSession,
  EngineConfig,
  EventRecord,
  FoldInput,
  FoldResult,
  LogRecord,
  PartitionState,
  PartitionStats,
  TickRecord,
  UserState,
  UserVisitor,
} from './types.ts';
import { recordWatermark } from './watermark.ts';

/**
 * The live sessions of one Kafka partition and the fold of its log into them (docs/DESIGN.md
 * sections 3 and 4). Pure: no I/O, no clock; a warm container keeps one between batches so that
 * nothing is read back (docs/DESIGN.md section 5), and a cold one builds it from the checkpoint.
 *
 * apply() changes this object. A caller whose transition fails after apply must discard it: it then
 * holds state the checkpoint does not.
 */
export class PartitionSessions {
  private readonly operator: SessionOperator;
  private current: PartitionState;

  /**
   * From users given as plain data (each once). A cold load from state images goes through a
   * PartitionLoader instead, user by user.
   */
  constructor(
    readonly config: EngineConfig,
    partition: PartitionState,
    users: Iterable<UserState> | SessionOperator,
  ) {
    if (users instanceof SessionOperator) this.operator = users;
    else {
      this.operator = new SessionOperator(config, partition.watermark);
      this.operator.load(users);
    }
    this.current = partition;
  }

  get partition(): PartitionState {
    return this.current;
  }

  /**
   * Folds records (events and ticks, in offset order) as Flink's WindowOperator does with a
   * per-record watermark: the event is merged into its user's sessions at the current W (or rejected
   * as late), then W = max(W, t - B - 1) and every timer now due fires, for all users of the
   * partition. Because W moves per record, not per batch, the rows depend only on the records in
   * order: any cut into batches yields the same emissions (docs/DESIGN.md section 4).
   *
   * An idle tick fires early (docs/DESIGN.md section 4): every session with unwritten changes is
   * written now, provisionally, and stays in state. It never moves W, so no tick, whatever its
   * timestamp or however many there are, changes which record is late or what a final row holds.
   *
   * Records below nextOffset were applied by an earlier transition (a re-delivered batch) and are
   * skipped, which is what makes redelivery harmless (docs/DESIGN.md section 5).
   */
  apply(records: readonly LogRecord[], endOffset: number): FoldResult {
    const operator = this.operator;
    operator.beginBatch();
    const { outOfOrdernessMs, idleFlush } = this.config;
    const before = this.current;
    let maxEventTime = before.maxEventTime ?? Number.NEGATIVE_INFINITY;
    let lastLogTime = before.lastLogTime ?? Number.NEGATIVE_INFINITY;
    const nextOffset = before.nextOffset;

    // An indexed loop: for-of over an array calls the iterator builtin per record in optimised code.
    for (let i = 0; i < records.length; i++) {
      const record = records[i] as LogRecord;
      if (record.offset < nextOffset) continue;
      if ((record as TickRecord).tick === true) {
        if (idleFlush) operator.fireEarly();
        continue;
      }
      const event = record as EventRecord;
      operator.add(event);
      const t = event.eventTime;
      if (t > maxEventTime) maxEventTime = t;
      if (event.timestamp > lastLogTime) lastLogTime = event.timestamp;
      // Late records count too: the watermark generator sees every record before the window
      // operator judges it.
      operator.advance(recordWatermark(t, outOfOrdernessMs));
    }

    const finite = (x: number): number | null => (x === Number.NEGATIVE_INFINITY ? null : x);
    this.current = {
      nextOffset: Math.max(nextOffset, endOffset),
      watermark: operator.watermark,
      maxEventTime: finite(maxEventTime),
      lastLogTime: finite(lastLogTime),
    };
    const { changed, output } = operator.takeBatch();
    let users: Map<string, UserState> | undefined;
    let emitted: EmittedSession[] | undefined;
    const result: Omit<FoldResult, 'changed' | 'emittedColumns'> = {
      partition: this.current,
      get users() {
        users ??= changed.toMap();
        return users;
      },
      get emitted() {
        emitted ??= [...output.emitted];
        return emitted;
      },
      earlyFired: output.earlyFired,
      superseded: output.supersededRows(),
      late: output.late,
    };
    // Not enumerable: a view into this engine, and the columns `emitted` is built from, so results
    // still compare by what they hold.
    return Object.defineProperties(result, {
      changed: { value: changed, enumerable: false },
      emittedColumns: { value: output.emitted, enumerable: false },
    }) as FoldResult;
  }

  /** Every live user as plain data: the partition's whole state. */
  users(): UserState[] {
    return this.operator.exportUsers();
  }

  /** Every live user, field by field (a checkpoint snapshot, encoded without a plain copy). */
  visitUsers(visitor: UserVisitor): void {
    this.operator.visitUsers(visitor);
  }

  stats(): PartitionStats {
    return this.operator.stats();
  }

  /** Bytes the partition's state holds in memory, estimated (docs/DEPLOY.md, "Sizing"). */
  memoryBytes(): number {
    return this.operator.memoryBytes();
  }
}

/**
 * Builds a partition's engine from its state images (a cold load, docs/STATE.md section 2): the
 * images' decoder hands `visitor` every user of the snapshot, then of each delta, in order; finish
 * catches up and returns the engine. `hint` (the checkpoint's counts) sizes the columns at once.
 */
export class PartitionLoader {
  readonly visitor: UserVisitor;
  private readonly operator: SessionOperator;

  constructor(
    private readonly config: EngineConfig,
    private readonly partition: PartitionState,
    hint?: { readonly users?: number; readonly sessions?: number },
  ) {
    this.operator = new SessionOperator(config, partition.watermark, hint);
    this.visitor = this.operator.beginLoad();
  }

  finish(): PartitionSessions {
    this.operator.finishLoad();
    return new PartitionSessions(this.config, this.partition, this.operator);
  }
}

/**
 * Folds one batch from a given state: the functional form of PartitionSessions, for tests and for
 * anyone who keeps state outside the engine. `users` must hold every live user of the partition.
 */
export function fold(input: FoldInput): FoldResult {
  return new PartitionSessions(input.config, input.partition, input.users.values()).apply(
    input.records,
    input.endOffset,
  );
}
