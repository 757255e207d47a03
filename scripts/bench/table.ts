import type { E2eResult, FlinkResult, Latencies } from './e2e.ts';
import type { HandlerRun } from './handler-tier.ts';
import type { NexmarkResult } from './nexmark-tier.ts';
import { fmt, median } from './progress.ts';
import { dollarsPerMillionEvents, PRICE, type TierRow } from './protocol.ts';
import type { ReloadResult } from './reload-tier.ts';
import type { TickResult } from './tick-tier.ts';

export interface TableContext {
  readonly handler: readonly HandlerRun[];
  readonly full: E2eResult | undefined;
  readonly drain: E2eResult | undefined;
  readonly paced: readonly E2eResult[];
  readonly reload: ReloadResult | undefined;
  readonly tick: TickResult | undefined;
  readonly nexmark: NexmarkResult | undefined;
  /** CPUs of the machine (the nexmark tier's per-core figure). */
  readonly cores: number;
  readonly engineTarget: number;
}

/**
 * Flink 1.13's published Nexmark figure for query 11 (user sessions), per core: the comparison
 * point issue 19 names (docs/BENCHMARKS.md, "The nexmark tier"). Not a target.
 */
const FLINK_113_Q11_PER_CORE = 39_700;

/**
 * Issue 11's targets, against the layout before it (measured 2026-11-24 on this machine with the
 * per-user layout: docs/BENCHMARKS.md, "Before"), and the reference Flink job's figures.
 */
const TARGETS = {
  producedWhileRead: 40_000,
  drain: 65_000,
  /** 10 x the handler's 1,467 events/s at batch 1,000 with the per-user layout. */
  handlerBatch1000: 14_670,
  writeUnitsPer1kAtBatch1000: 60,
  p99Ms: 1000,
} as const;

/**
 * Issue 19's targets: against the reference Flink job in the same run, and the sink's cost per row
 * against the bare-upsert floor, half of what it was. The sink is measured alone (its writes
 * replayed with nothing beside them, as the floor runs); the sink before issue 19 (c71187c, the
 * sink of 2026-11-27 with early firing's fence columns), measured alone the same way on
 * 2026-12-02, cost 1.06 and 0.99 x the floor at batch 1,000 and 0.96 and 0.84 x at batch 10,000
 * (docs/BENCHMARKS.md, "The evening of 2026-12-02"); in the handler, beside the state image, the
 * full run of 2026-11-27 measured 1.28 and 1.02 x.
 */
const TARGETS_19 = {
  drainOverFlink: 1.5,
  fullSpeedP99Ms: 1000,
  lastRowAfterLastSendMs: 1000,
  sinkOverFloor: { 1000: (1.06 + 0.99) / 2 / 2, 10000: (0.96 + 0.84) / 2 / 2 } as Record<number, number>,
} as const;

/**
 * The sink alone over the floor: the median of the rounds' ratios (each round runs the two one
 * after the other, so they share the machine's weather; scripts/bench/handler-tier.ts).
 */
const sinkRatio = (h: HandlerRun) => median(h.sinkOverFloor);

/** The job's throughput over Flink's in each round of a run with rounds (none otherwise). */
function roundRatios(e: E2eResult): number[] {
  const { job, flink } = e.rounds;
  if (job.length < 2 || job.length !== flink.length) return [];
  return job.map((seconds, i) => (flink[i] as number) / seconds);
}

/**
 * The job's throughput over Flink's: the median of the rounds' ratios where the run had rounds
 * (each round drains the job, then Flink: they share the machine's weather; scripts/bench/e2e.ts).
 */
function overFlink(e: E2eResult, f: FlinkResult): number {
  const ratios = roundRatios(e);
  return ratios.length > 0 ? median(ratios) : e.events / e.seconds / (f.events / f.seconds);
}

/** "; median of 3 rounds (1.33 x, 1.28 x, 1.41 x)" where the run had rounds. */
function roundsNote(e: E2eResult): string {
  const ratios = roundRatios(e);
  if (ratios.length === 0) return '';
  return `; median of ${ratios.length} rounds (${ratios.map((r) => `${fmt(r, 2)} x`).join(', ')})`;
}

const pct = (part: number, whole: number) => `${fmt((100 * part) / whole)} %`;
const ms = (n: number) => `${fmt(n)} ms`;

/**
 * The watermark passed when the record that moved it was in the topic (its ack), and - printed
 * beside it - when the producer was handed it (docs/BENCHMARKS.md, "Latency").
 */
const latencyNote = ({ fromAck: a, fromSend: s }: Latencies) =>
  `watermark passed (record acknowledged) -> row visible over ${fmt(a.sessions)} sessions: ` +
  `p50 ${ms(a.p50)}, p99 ${ms(a.p99)}, max ${ms(a.max)}; from the send call: ` +
  `p50 ${ms(s.p50)}, p99 ${ms(s.p99)}, max ${ms(s.max)}`;

/** The summary: one Markdown table, then floors and ratios, the targets, and where the time goes. */
export function renderTable(rows: readonly TierRow[], ctx: TableContext): string {
  const lines: string[] = [];
  lines.push(
    '| tier | run | events | seconds | events/s | DynamoDB calls /1k ev | read units /1k | write units /1k | KB written /1k | $ per M events | PG statements /1k | peak RSS |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const r of rows) {
    const c = r.costPer1k;
    const cell = (n: number | undefined, digits = 1) =>
      c === null || n === undefined ? '-' : fmt(n, digits);
    lines.push(
      `| ${r.tier} | ${r.detail} | ${fmt(r.events)} | ${fmt(r.seconds, 2)} | ${fmt(r.eventsPerSecond)} | ` +
        `${cell(c?.dynamodbCalls)} | ${cell(c?.readUnits)} | ${cell(c?.writeUnits)} | ${cell(c?.kbWritten)} | ` +
        `${c ? `$${fmt(dollarsPerMillionEvents(c), 3)}` : '-'} | ${cell(c?.pgStatements, 2)} | ${fmt(r.peakRssMb)} MB |`,
    );
  }

  const notes: string[] = [];
  for (const r of rows) for (const n of r.notes ?? []) notes.push(`${r.tier}, ${n}`);
  for (const h of ctx.handler) {
    const wall = h.row.seconds * 1000;
    notes.push(
      `handler, batch ${fmt(h.batchSize)}, ${h.memory}: ${fmt(h.batches)} batches; time in DynamoDB ${pct(h.dynamodbMs, wall)}, ` +
        `PostgreSQL ${pct(h.postgresMs, wall)} (the two overlap: the sink and the state image are written in parallel); ` +
        `${fmt(h.avgUsersPerBatch, 1)} users changed and ${fmt(h.avgItemsWrittenPerBatch, 1)} items written per batch, ` +
        `${fmt(h.snapshots)} snapshots; sink transactions with sessions: ${fmt(h.insertWrites)} by plain inserts, ` +
        `${fmt(h.upsertWrites)} by upserts; DynamoDB time by call: ${h.storeTime}`,
    );
  }
  const e2eNote = (name: string, e: E2eResult) => {
    const j = e.pipeline;
    notes.push(
      `end-to-end, ${name}: ${fmt(e.events)} events, ${fmt(e.rows)} rows (all equal to the engine's), produced in ` +
        `${fmt(e.produceSeconds, 1)} s; ${fmt(j.invocations)} invocations, up to ${fmt(j.maxRecordsPerInvocation)} records; ` +
        `the job's process (trigger and handler) used ${fmt((1000 * j.cpuMs) / Math.max(1, e.events), 1)} us of CPU per event; ` +
        `handler time ${ms(j.handlerMs)}: DynamoDB ${pct(j.dynamodbMs, j.handlerMs)}, PostgreSQL ${pct(j.postgresMs, j.handlerMs)} ` +
        `(summed over partitions in parallel; ${fmt((1000 * j.postgresMs) / Math.max(1, e.rows), 1)} us per row); ` +
        `sink transactions with sessions: ${fmt(j.insertWrites)} by plain inserts, ${fmt(j.upsertWrites)} by upserts; ` +
        `DynamoDB time by call: ${j.storeTime}` +
        (e.options.mode === 'full' ? `; last row ${ms(e.lastRowAfterLastSendMs)} after the last send` : ''),
    );
    notes.push(`end-to-end, ${name}: ${latencyNote(e.latency)}`);
  };
  const flinkNote = (name: string, f: FlinkResult) => {
    notes.push(
      `flink, ${name}: ${fmt(f.events)} events, ${fmt(f.rows)} rows (${fmt(f.rows - f.endOfInputRows)} equal to the ` +
        `engine's, and the ${fmt(f.endOfInputRows)} sessions its end of input fired, equal to the engine's open ones)` +
        (f.lastRowAfterLastSendMs === null
          ? ''
          : `, produced in ${fmt(f.produceSeconds, 1)} s; last row ${ms(f.lastRowAfterLastSendMs)} after the last send`),
    );
    notes.push(`flink, ${name}: ${latencyNote(f.latency)}`);
  };
  if (ctx.full) e2eNote('produced while read', ctx.full);
  if (ctx.full?.flink) flinkNote('produced while read', ctx.full.flink);
  if (ctx.drain) e2eNote('drain', ctx.drain);
  if (ctx.drain?.flink) flinkNote('drain', ctx.drain.flink);
  for (const p of ctx.paced) e2eNote(`paced ${fmt(p.options.rate)}/s, window ${p.options.windowMs} ms`, p);
  const reload = ctx.reload;
  // The reload tier words its own notes and targets (scripts/bench/reload-tier.ts).
  if (reload) notes.push(...reload.notes);
  const tick = ctx.tick;
  if (tick) {
    const chunks = tick.chunks;
    notes.push(
      `tick: ${fmt(tick.users)} users, one event each (loaded in ${fmt(tick.loadMs / 1000, 1)} s), then one idle tick: ` +
        `its transition took ${ms(tick.tickMs)} and wrote ${fmt(tick.sessions)} sessions into both tables in one ` +
        `transaction of ${fmt(tick.statements)} statements (${fmt(chunks)} of at most ${fmt(Math.ceil(tick.sessions / chunks))} ` +
        `sessions), PostgreSQL ${ms(tick.postgresMs)}, ${fmt(tick.postgresMs / chunks)} ms per statement on average ` +
        `(statement_timeout ${ms(tick.statementTimeoutMs)})`,
    );
  }
  const nx = ctx.nexmark;
  if (nx) {
    const j = nx.pipeline;
    notes.push(
      `nexmark: query 11 on the bids of ${fmt(nx.options.events)} Nexmark events at ${fmt(nx.options.rate)} events/s of ` +
        `event time: ${fmt(nx.bids)} bids of ${fmt(nx.bidders)} bidders, produced in ${fmt(nx.produceSeconds, 1)} s, then ` +
        `drained; ${fmt(nx.rows)} rows (all equal to the engine's; ${fmt(nx.open)} sessions still open at the end); ` +
        `${fmt(j.invocations)} invocations; the job's process used ${fmt((1000 * j.cpuMs) / Math.max(1, nx.bids), 1)} us ` +
        `of CPU per bid; handler time ${ms(j.handlerMs)}: DynamoDB ${pct(j.dynamodbMs, j.handlerMs)}, PostgreSQL ` +
        `${pct(j.postgresMs, j.handlerMs)}`,
    );
  }
  notes.push(
    `$ per M events: DynamoDB on-demand, us-east-1, $${PRICE.writeUnit} per million write units and ` +
      `$${PRICE.readUnit} per million read units, for the checkpoint only (Lambda, PostgreSQL and Kafka are apart)`,
  );

  const floors: string[] = [];
  const consumeFloor = ctx.drain?.floor ?? ctx.full?.floor;
  if (consumeFloor) {
    const consume = consumeFloor.events / consumeFloor.seconds;
    for (const [name, e] of [
      ['produced while read', ctx.full],
      ['drain', ctx.drain],
    ] as const) {
      if (e === undefined) continue;
      floors.push(
        `| kafkajs consume-only, same stream (${fmt(consumeFloor.events)} events) | ${fmt(consume)} events/s in ` +
          `${fmt(consumeFloor.seconds, 2)} s | end-to-end ${name} ${fmt(e.events / e.seconds)} events/s = ` +
          `${pct(e.events / e.seconds, consume)} of it |`,
      );
    }
  }
  for (const h of ctx.handler) {
    if (h.floorStatements === 0) continue;
    floors.push(
      `| bare unnest upserts of the batch ${fmt(h.batchSize)} run's ${fmt(h.rows)} rows into both session tables as they were (${fmt(h.floorStatements)} statements; median of ${fmt(h.sinkOverFloor.length)} rounds) | ` +
        `${ms(h.floorMs)} (${fmt((1000 * h.floorMs) / h.rows, 1)} us per row) | the sink alone took ${ms(h.sinkAloneMs)} ` +
        `(${fmt((1000 * h.sinkAloneMs) / h.rows, 1)} us per row) = ${fmt(sinkRatio(h), 2)} x (rounds: ` +
        `${h.sinkOverFloor.map((r) => fmt(r, 2)).join(', ')}); in the handler, ` +
        `beside the state image, ${ms(h.postgresMs)} = ${fmt(h.postgresMs / h.floorMs, 2)} x |`,
    );
  }
  for (const [name, e] of [
    ['produced while read', ctx.full],
    ['drain', ctx.drain],
  ] as const) {
    const f = e?.flink;
    if (e === undefined || f == null) continue;
    const job = e.events / e.seconds;
    const flink = f.events / f.seconds;
    floors.push(
      `| the reference Flink job, ${name}, same stream, same run | ${fmt(flink)} events/s in ${fmt(f.seconds, 2)} s | ` +
        `end-to-end ${name} ${fmt(job)} events/s = ${fmt(overFlink(e, f), 2)} x${roundsNote(e)} |`,
    );
  }

  if (nx) {
    const perCpuSecond = nx.bids / (nx.pipeline.cpuMs / 1000);
    const cores = ctx.cores;
    floors.push(
      `| Nexmark query 11 (user sessions, 10 s gap): Flink 1.13's published throughput per core | ` +
        `${fmt(FLINK_113_Q11_PER_CORE)} events/s per core (not a target) | the job, end to end with its sink and ` +
        `checkpoint: ${fmt(nx.bids / nx.seconds)} events/s on ${cores} cores shared with Kafka, DynamoDB Local and ` +
        `PostgreSQL = ${fmt(nx.bids / nx.seconds / cores)} per core of the machine; ${fmt(perCpuSecond)} per CPU second ` +
        `of the job's own process |`,
    );
  }

  const targets: string[] = [];
  const target = (what: string, measured: string, met: boolean, ratio: number) =>
    targets.push(`| ${what} | ${measured} | ${met ? 'met' : `missed (${fmt(100 * ratio)} % of target)`} |`);
  if (ctx.full) {
    const eps = ctx.full.events / ctx.full.seconds;
    target(
      `end to end, produced while read, >= ${fmt(TARGETS.producedWhileRead)} events/s (${fmt(ctx.full.events)} events, ` +
        `${fmt(ctx.full.options.users)} users, ${ctx.full.options.partitions} partitions, batch ${fmt(ctx.full.options.batchSize)})`,
      `${fmt(eps)} events/s (first send to last row)`,
      eps >= TARGETS.producedWhileRead,
      eps / TARGETS.producedWhileRead,
    );
  }
  if (ctx.drain) {
    const eps = ctx.drain.events / ctx.drain.seconds;
    target(
      `end to end, draining ${fmt(ctx.drain.events)} events already in Kafka, >= ${fmt(TARGETS.drain)} events/s`,
      `${fmt(eps)} events/s (first read to last row)` +
        (consumeFloor
          ? `, ${pct(eps, consumeFloor.events / consumeFloor.seconds)} of kafkajs consume-only`
          : ''),
      eps >= TARGETS.drain,
      eps / TARGETS.drain,
    );
  }
  const warm1000 = ctx.handler.find((h) => h.batchSize === 1000 && h.memory === 'warm');
  if (warm1000) {
    const eps = warm1000.row.eventsPerSecond;
    target(
      `handler at batch 1,000 >= 10 x the per-user layout's 1,467 events/s`,
      `${fmt(eps)} events/s (${fmt(eps / 1467, 1)} x)`,
      eps >= TARGETS.handlerBatch1000,
      eps / TARGETS.handlerBatch1000,
    );
    const wru = warm1000.row.costPer1k?.writeUnits ?? Number.NaN;
    target(
      `DynamoDB write units per 1,000 events at batch 1,000 <= ${TARGETS.writeUnitsPer1kAtBatch1000}`,
      `${fmt(wru, 1)} (the per-user layout: about 2,430)`,
      wru <= TARGETS.writeUnitsPer1kAtBatch1000,
      TARGETS.writeUnitsPer1kAtBatch1000 / wru,
    );
  }
  for (const p of ctx.paced) {
    const p99 = p.latency.fromAck.p99;
    target(
      `row visible within 1 s (p99) of the watermark passing its end (paced ${fmt(p.options.rate)}/s, window ${p.options.windowMs} ms)`,
      `p50 ${ms(p.latency.fromAck.p50)}, p99 ${ms(p99)} (from the send call: p99 ${ms(p.latency.fromSend.p99)})`,
      p99 <= TARGETS.p99Ms,
      TARGETS.p99Ms / p99,
    );
  }
  for (const t of reload?.targets ?? []) {
    if (t.met === null) targets.push(`| ${t.what} | ${t.measured} | measured |`);
    else target(t.what, t.measured, t.met, t.ratio);
  }
  const flinkDrain = ctx.drain?.flink;
  if (ctx.drain && flinkDrain) {
    const ratio = overFlink(ctx.drain, flinkDrain);
    target(
      `end to end, drain >= ${TARGETS_19.drainOverFlink} x the reference Flink job's drain (same stream, same run)`,
      `${fmt(ctx.drain.events / ctx.drain.seconds)} events/s = ${fmt(ratio, 2)} x Flink's ` +
        `${fmt(flinkDrain.events / flinkDrain.seconds)}${roundsNote(ctx.drain)}`,
      ratio >= TARGETS_19.drainOverFlink,
      ratio / TARGETS_19.drainOverFlink,
    );
  }
  if (ctx.full) {
    const { p50, p99 } = ctx.full.latency.fromAck;
    const flink = ctx.full.flink?.latency;
    target(
      `end to end, produced while read: row visible within 1 s (p99) of the watermark passing its end, at full speed`,
      `p50 ${ms(p50)}, p99 ${ms(p99)}` +
        (flink ? ` (Flink: p50 ${ms(flink.fromAck.p50)}, p99 ${ms(flink.fromAck.p99)})` : '') +
        `; from the send call: p99 ${ms(ctx.full.latency.fromSend.p99)}` +
        (flink ? ` (Flink: ${ms(flink.fromSend.p99)})` : ''),
      p99 <= TARGETS_19.fullSpeedP99Ms,
      TARGETS_19.fullSpeedP99Ms / p99,
    );
    const after = ctx.full.lastRowAfterLastSendMs;
    const flinkAfter = ctx.full.flink?.lastRowAfterLastSendMs;
    target(
      `end to end, produced while read: last row visible within 1 s of the last send`,
      `${ms(after)} after it${flinkAfter == null ? '' : ` (Flink: ${ms(flinkAfter)})`}`,
      after <= TARGETS_19.lastRowAfterLastSendMs,
      TARGETS_19.lastRowAfterLastSendMs / Math.max(1, after),
    );
  }
  for (const h of ctx.handler) {
    const limit = TARGETS_19.sinkOverFloor[h.batchSize];
    if (h.floorStatements === 0 || limit === undefined) continue;
    const ratio = sinkRatio(h);
    target(
      `sink cost per row at batch ${fmt(h.batchSize)}, alone, <= half of the sink's before issue 19, against the bare-upsert floor (<= ${fmt(limit, 2)} x)`,
      `${fmt(ratio, 2)} x alone, median of ${fmt(h.sinkOverFloor.length)} rounds (${fmt((1000 * h.sinkAloneMs) / h.rows, 1)} us per row, the floor ` +
        `${fmt((1000 * h.floorMs) / h.rows, 1)}); in the handler, beside the state image, ${fmt(h.postgresMs / h.floorMs, 2)} x`,
      ratio <= limit,
      limit / ratio,
    );
  }
  if (tick) {
    const chunks = tick.chunks;
    targets.push(
      `| a tick that fires ${fmt(tick.sessions)} sessions is written in bounded chunks inside its one transaction | ` +
        `${fmt(chunks)} statements of at most ${fmt(Math.ceil(tick.sessions / chunks))} sessions, ` +
        `${fmt(tick.postgresMs / chunks)} ms each on average (statement_timeout ${ms(tick.statementTimeoutMs)}); ` +
        `the transition ${ms(tick.tickMs)} | met |`,
    );
  }
  for (const r of rows.filter((row) => row.tier === 'engine')) {
    target(
      `engine >= ${fmt(ctx.engineTarget)} events/s on one core (${r.detail})`,
      fmt(r.eventsPerSecond),
      r.eventsPerSecond >= ctx.engineTarget,
      r.eventsPerSecond / ctx.engineTarget,
    );
  }

  const out = [...lines, ''];
  if (floors.length > 0) out.push('| floor reference | measured | ratio |', '|---|---|---|', ...floors, '');
  if (targets.length > 0) out.push('| target | measured | |', '|---|---|---|', ...targets, '');
  out.push(...notes.map((n) => `- ${n}`));
  return out.join('\n');
}
