import type { Progress } from './protocol.ts';

interface Phase {
  done: number;
  total: number;
  unit: string;
  rateAt: number;
  rateDone: number;
  perSecond: number;
}

/**
 * One progress line on stderr with every phase under way (the producer and the job run at the
 * same time): rewritten in place on a terminal; on a pipe (CI) printed every 5 s and when a phase
 * ends, so logs stay short.
 */
export class ProgressLine {
  readonly #started = Date.now();
  readonly #tty = process.stderr.isTTY === true;
  readonly #phases = new Map<string, Phase>();
  #printedAt = 0;
  #visible = false;

  update(p: Progress): void {
    const now = Date.now();
    let phase = this.#phases.get(p.phase);
    if (phase === undefined) {
      phase = { done: p.done, total: p.total, unit: p.unit, rateAt: now, rateDone: p.done, perSecond: 0 };
      this.#phases.set(p.phase, phase);
    } else if (now - phase.rateAt >= 1000) {
      phase.perSecond = ((p.done - phase.rateDone) * 1000) / (now - phase.rateAt);
      phase.rateAt = now;
      phase.rateDone = p.done;
    }
    phase.done = p.done;
    phase.total = p.total;
    const finished = p.done >= p.total;
    if (finished || now - this.#printedAt >= (this.#tty ? 100 : 5000)) this.#render(now);
    if (finished) this.#phases.delete(p.phase);
  }

  /** A message of its own on stderr, above the progress line. */
  say(message: string): void {
    this.clear();
    process.stderr.write(`[bench ${clock(Date.now() - this.#started)}] ${message}\n`);
  }

  clear(): void {
    if (this.#tty && this.#visible) process.stderr.write('\r\x1b[2K');
    this.#visible = false;
  }

  #render(now: number): void {
    this.#printedAt = now;
    const parts = [...this.#phases].map(([name, p]) => {
      const pct = p.total > 0 ? Math.floor((100 * p.done) / p.total) : 0;
      const rate = p.perSecond > 0 ? ` ${fmt(p.perSecond)}/s` : '';
      return `${name} ${fmt(p.done)}/${fmt(p.total)} ${p.unit} (${pct}%)${rate}`;
    });
    const line = `[bench ${clock(now - this.#started)}] ${parts.join(' | ')}`;
    if (this.#tty) {
      process.stderr.write(`\r\x1b[2K${line.slice(0, process.stderr.columns ?? 200)}`);
      this.#visible = true;
    } else process.stderr.write(`${line}\n`);
  }
}

export function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

function clock(ms: number): string {
  const s = Math.floor(ms / 1000);
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

/** The middle value (the upper one of an even count); NaN for none. */
export const median = (xs: readonly number[]): number =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
