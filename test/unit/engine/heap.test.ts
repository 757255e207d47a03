import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DeadlineHeap } from '../../../lib/engine/index.ts';

describe('DeadlineHeap', () => {
  it('reports +Infinity as the smallest key when empty', () => {
    // Prepare
    const heap = new DeadlineHeap<string>();

    // Act
    const key = heap.peekKey();

    // Assess
    expect(key).toBe(Number.POSITIVE_INFINITY);
    expect(heap.size).toBe(0);
  });

  it('pops items in key order, whatever the order of pushes and pops', () => {
    fc.assert(
      fc.property(fc.array(fc.option(fc.integer({ min: -50, max: 50 }), { nil: undefined })), (ops) => {
        // Prepare: undefined = pop, a number = push; a sorted array is the model.
        const heap = new DeadlineHeap<number>();
        const model: number[] = [];

        // Act + Assess
        for (const op of ops) {
          if (op === undefined) {
            if (model.length === 0) continue;
            expect(heap.peekKey()).toBe(model[0]);
            expect(heap.pop()).toBe(model.shift());
          } else {
            heap.push(op, op);
            model.push(op);
            model.sort((a, b) => a - b);
          }
          expect(heap.size).toBe(model.length);
        }
      }),
      { numRuns: 200 },
    );
  });
});
