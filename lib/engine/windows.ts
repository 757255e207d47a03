import { EMITTED_SELF, NONE, PENDING, type SessionTable, unionStarts } from './work-state.ts';

/**
 * Adds one event at time t to user u's sessions, as Flink's WindowOperator.processElement does for
 * a merging assigner: the event's window [t, t + G) (EventTimeSessionWindows.assignWindows) is merged
 * by MergingWindowSet.addWindow with every live window it intersects (TimeWindow.intersects:
 * a.start <= b.end && a.end >= b.start, so events exactly G apart share a session), then dropped if
 * the merged window is late (WindowOperator.isWindowLate: maxTimestamp + allowedLateness <= W).
 *
 * Lateness is judged on the merged window, before anything changes: a straggler that joins a live
 * session is not late (docs/DESIGN.md section 3, rule 5). Flink performs the merge first and would throw
 * if the merged window were late, which cannot happen: every live window ends after W - L.
 *
 * Returns the slot of the session that now holds the event, or NONE when the event is late (user
 * unchanged; the caller marks a changed user). A new session takes a recycled slot when there is one.
 */
export function addEvent(
  table: SessionTable,
  u: number,
  t: number,
  gapMs: number,
  allowedLatenessMs: number,
  watermark: number,
): number {
  const { start: starts, end: ends, next } = table;
  const windowEnd = t + gapMs;
  // The list runs newest first, and sessions are sorted and separated, so the intersecting ones are
  // one contiguous run. In practice events extend the user's latest session and the loop stops at
  // once. `before`: the oldest session that starts after the event's window (the run, or the new
  // session, comes right after it in the list); `newest`/`oldest`: the ends of the run.
  let before = NONE;
  let newest = NONE;
  let oldest = NONE;
  for (let s = table.head[u] as number; s !== NONE; s = next[s] as number) {
    if ((ends[s] as number) < t) break;
    if ((starts[s] as number) <= windowEnd) {
      if (newest === NONE) newest = s;
      oldest = s;
    } else {
      before = s;
    }
  }

  const start = oldest === NONE ? t : Math.min(t, starts[oldest] as number);
  const end = newest === NONE ? windowEnd : Math.max(windowEnd, ends[newest] as number);
  if (end - 1 + allowedLatenessMs <= watermark) return NONE;

  if (oldest === NONE) {
    const created = table.openSession(u, t, windowEnd, t, 1);
    // Opening may have grown the columns: `next` is read again.
    const links = table.next;
    // Usually the newest session: the head of the list.
    if (before === NONE) {
      links[created] = table.head[u] as number;
      table.head[u] = created;
    } else {
      links[created] = links[before] as number;
      links[before] = created;
    }
    return created;
  }

  // The merged session reuses the oldest constituent (no allocation when the event joins one
  // session); the others are marked dead and unlinked. Counts add up (a count aggregate merges by
  // sum), and the rows the constituents already wrote are remembered for rule 7.
  const target = oldest;
  const flags = table.flags[target] as number;
  let count = (table.count[target] as number) + 1;
  let latest = Math.max(table.last[target] as number, t);
  if (newest === target) {
    // The hot path: the event joins one session. Its emitted starts stay what they are, unless
    // they are "[start]" (a flag) and the start moves: then the old start becomes a listed one.
    if (flags & EMITTED_SELF && start !== starts[target]) {
      const previous = starts[target] as number;
      starts[target] = start;
      table.setEmittedStarts(target, [previous]);
    }
  } else {
    let emittedStarts = table.emittedStarts(target);
    for (let s = newest; s !== target; s = next[s] as number) {
      count += table.count[s] as number;
      if ((table.last[s] as number) > latest) latest = table.last[s] as number;
      emittedStarts = unionStarts(emittedStarts, table.emittedStarts(s));
    }
    for (let s = newest; s !== target; ) {
      const older = next[s] as number;
      table.kill(s);
      s = older;
    }
    if (before === NONE) table.head[u] = target;
    else next[before] = target;
    // Set once the start has its final value: "[start]" is stored as a flag.
    starts[target] = start;
    table.setEmittedStarts(target, emittedStarts);
  }
  starts[target] = start;
  ends[target] = end;
  table.last[target] = latest;
  table.count[target] = count;
  table.flags[target] = (table.flags[target] as number) | PENDING;
  return target;
}
