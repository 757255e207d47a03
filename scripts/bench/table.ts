import type { E2eResult } from './e2e.ts';
import type { HandlerRun } from './handler-tier.ts';
import { fmt } from './progress.ts';
import type { TierRow } from './protocol.ts';

export interface TableContext {
  readonly handler: readonly HandlerRun[];
  readonly full: E2eResult | undefined;
  readonly paced: readonly E2eResult[];
  readonly engineTarget: number;
}

const pct = (part: number, whole: number) => `${fmt((100 * part) / whole)} %`;
const ms = (n: number) => `${fmt(n)} ms`;

/** The summary: one Markdown table, then floors and ratios, where the time goes, and the targets. */
export function renderTable(rows: readonly TierRow[], ctx: TableContext): string {
  const lines: string[] = [];
  lines.push(
    '| tier | run | events | seconds | events/s | DynamoDB calls /1k ev | items read /1k | items written /1k | PG statements /1k | peak RSS |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const r of rows) {
    const c = r.costPer1k;
    lines.push(
      `| ${r.tier} | ${r.detail} | ${fmt(r.events)} | ${fmt(r.seconds, 2)} | ${fmt(r.eventsPerSecond)} | ` +
        `${c ? fmt(c.dynamodbCalls, 1) : '-'} | ${c ? fmt(c.itemsRead, 1) : '-'} | ${c ? fmt(c.itemsWritten, 1) : '-'} | ` +
        `${c ? fmt(c.pgStatements, 2) : '-'} | ${fmt(r.peakRssMb)} MB |`,
    );
  }

  const notes: string[] = [];
  for (const r of rows) for (const n of r.notes ?? []) notes.push(`${r.tier}, ${n}`);
  for (const h of ctx.handler) {
    const wall = h.row.seconds * 1000;
    notes.push(
      `handler, batch ${fmt(h.batchSize)}: ${fmt(h.batches)} batches; time in DynamoDB ${pct(h.dynamodbMs, wall)}, ` +
        `PostgreSQL ${pct(h.postgresMs, wall)}, the rest (decode, fold, encode) ${pct(wall - h.dynamodbMs - h.postgresMs, wall)}; ` +
        `${fmt(h.avgUsersPerBatch, 1)} users changed and ${fmt(h.avgItemsWrittenPerBatch, 1)} items written per batch; ` +
        `DynamoDB time by call: ${h.storeTime}`,
    );
  }
  const e2eNote = (name: string, e: E2eResult) => {
    const j = e.pipeline;
    notes.push(
      `end-to-end, ${name}: ${fmt(e.events)} events, ${fmt(e.rows)} rows (all equal to the engine's), produced in ` +
        `${fmt(e.produceSeconds, 1)} s; ${fmt(j.invocations)} invocations, up to ${fmt(j.maxRecordsPerInvocation)} records; ` +
        `handler time ${ms(j.handlerMs)}: DynamoDB ${pct(j.dynamodbMs, j.handlerMs)}, PostgreSQL ${pct(j.postgresMs, j.handlerMs)} ` +
        `(summed over partitions in parallel); DynamoDB time by call: ${j.storeTime}`,
    );
    notes.push(
      `end-to-end, ${name}: watermark passed -> row visible over ${fmt(e.latency.sessions)} sessions: ` +
        `p50 ${ms(e.latency.p50)}, p99 ${ms(e.latency.p99)}, max ${ms(e.latency.max)}`,
    );
  };
  if (ctx.full) e2eNote('full speed', ctx.full);
  for (const p of ctx.paced) e2eNote(`paced ${fmt(p.options.rate)}/s, window ${p.options.windowMs} ms`, p);

  const floors: string[] = [];
  const full = ctx.full;
  if (full?.floor) {
    const consume = full.floor.events / full.floor.seconds;
    floors.push(
      `| kafkajs consume-only, same topic (${fmt(full.floor.events)} events) | ${fmt(consume)} events/s in ` +
        `${fmt(full.floor.seconds, 2)} s | end-to-end ${fmt(full.events / full.seconds)} events/s = ` +
        `${pct(full.events / full.seconds, consume)} of it |`,
    );
  }
  for (const h of ctx.handler) {
    if (h.floorStatements === 0) continue;
    floors.push(
      `| bare unnest upsert of the batch ${fmt(h.batchSize)} run's ${fmt(h.rows)} rows (${fmt(h.floorStatements)} statements) | ` +
        `${ms(h.floorMs)} | the sink took ${ms(h.postgresMs)} = ${fmt(h.postgresMs / h.floorMs, 2)} x |`,
    );
  }

  const targets: string[] = [];
  const engine = rows.filter((r) => r.tier === 'engine');
  for (const r of engine) {
    targets.push(
      `| engine >= ${fmt(ctx.engineTarget)} events/s on one core (${r.detail}) | ${fmt(r.eventsPerSecond)} | ` +
        `${verdict(r.eventsPerSecond >= ctx.engineTarget, r.eventsPerSecond / ctx.engineTarget)} |`,
    );
  }
  if (full?.floor) {
    const ratio = full.events / full.seconds / (full.floor.events / full.floor.seconds);
    targets.push(
      `| end-to-end >= 50 % of kafkajs consume-only (batch ${fmt(full.options.batchSize)}, ${fmt(full.options.users)} users) | ` +
        `${pct(ratio, 1)} | ${verdict(ratio >= 0.5, ratio / 0.5)} |`,
    );
  }
  if (ctx.handler.length > 0) {
    const worst = Math.max(...ctx.handler.map((h) => h.itemsOverUsers));
    targets.push(
      `| DynamoDB items written per batch <= users touched + constant | at most users + ${worst} (every batch) | ${verdict(worst <= 2, 1)} |`,
    );
  }
  for (const p of ctx.paced) {
    const p99 = p.latency.p99;
    targets.push(
      `| row visible within 1 s of the watermark passing its end (paced ${fmt(p.options.rate)}/s, ` +
        `window ${p.options.windowMs} ms) | ` +
        `p50 ${ms(p.latency.p50)}, p99 ${ms(p99)} | ${verdict(p99 <= 1000, 1000 / p99)} |`,
    );
  }

  const out = [...lines, ''];
  if (floors.length > 0) out.push('| floor reference | measured | ratio |', '|---|---|---|', ...floors, '');
  if (targets.length > 0) out.push('| target | measured | |', '|---|---|---|', ...targets, '');
  out.push(...notes.map((n) => `- ${n}`));
  return out.join('\n');
}

function verdict(met: boolean, ratio: number): string {
  return met ? 'met' : `missed (${fmt(100 * ratio)} % of target)`;
}
