import { openSession, unionStarts, type WorkSession, type WorkUser } from './work-state.ts';

/**
 * Adds one event at time t to a user's sessions, as Flink's WindowOperator.processElement does for
 * a merging assigner: the event's window [t, t + G) (EventTimeSessionWindows.assignWindows) is merged
 * by MergingWindowSet.addWindow with every live window it intersects (TimeWindow.intersects:
 * a.start <= b.end && a.end >= b.start, so events exactly G apart share a session), then dropped if
 * the merged window is late (WindowOperator.isWindowLate: maxTimestamp + allowedLateness <= W).
 *
 * Lateness is judged on the merged window, before anything changes: a straggler that joins a live
 * session is not late (docs/DESIGN.md section 3, rule 5). Flink performs the merge first and would throw
 * if the merged window were late, which cannot happen: every live window ends after W - L.
 *
 * Returns the session that now holds the event, or null when the event is late (user unchanged; the
 * caller marks a changed user). A new session is made from `recycled` when it holds one (see
 * openSession).
 */
export function addEvent(
  user: WorkUser,
  t: number,
  gapMs: number,
  allowedLatenessMs: number,
  watermark: number,
  recycled: WorkSession[],
): WorkSession | null {
  const sessions = user.sessions;
  const windowEnd = t + gapMs;
  // Sessions are sorted and separated, so the intersecting ones are one contiguous run. Scan from
  // the newest: in practice events extend the user's latest session and the loop stops at once.
  let first = -1;
  let last = -1;
  let insertAt = sessions.length;
  for (let i = sessions.length - 1; i >= 0; i--) {
    const s = sessions[i] as WorkSession;
    if (s.end < t) break;
    if (s.start <= windowEnd) {
      if (last < 0) last = i;
      first = i;
    } else {
      insertAt = i;
    }
  }

  const start = first < 0 ? t : Math.min(t, (sessions[first] as WorkSession).start);
  const end = last < 0 ? windowEnd : Math.max(windowEnd, (sessions[last] as WorkSession).end);
  if (end - 1 + allowedLatenessMs <= watermark) return null;

  if (first < 0) {
    const created = openSession(recycled, user, t, windowEnd);
    // Usually the newest session: a push. Array.prototype.splice is a slow generic builtin.
    sessions.push(created);
    for (let i = sessions.length - 1; i > insertAt; i--) sessions[i] = sessions[i - 1] as WorkSession;
    sessions[insertAt] = created;
    return created;
  }

  // The merged session reuses the first constituent (no allocation when the event joins one
  // session); the others are marked dead and removed. Counts add up (a count aggregate merges by
  // sum), and the rows the constituents already wrote are remembered for rule 7.
  const target = sessions[first] as WorkSession;
  let count = target.count + 1;
  let latest = target.last > t ? target.last : t;
  let emittedStarts = target.emittedStarts;
  for (let i = first + 1; i <= last; i++) {
    const other = sessions[i] as WorkSession;
    count += other.count;
    if (other.last > latest) latest = other.last;
    emittedStarts = unionStarts(emittedStarts, other.emittedStarts);
    other.alive = false;
  }
  if (last > first) sessions.splice(first + 1, last - first);
  target.start = start;
  target.end = end;
  target.last = latest;
  target.count = count;
  target.pending = true;
  target.emittedStarts = emittedStarts;
  return target;
}
