/**
 * A binary min-heap of (deadline, item) pairs: the fold's event-time timer queue, the counterpart of
 * Flink's InternalTimerService priority queue. A watermark advance pops every entry with
 * deadline <= W, in deadline order, as Flink fires event-time timers.
 *
 * Keys and items live in two parallel arrays so a push allocates nothing per entry (the fold pushes
 * on the hot path; an array of {key, item} objects would allocate one object per push). Entries are
 * never removed from the middle: the owner invalidates them lazily (see operator.ts).
 */
export class DeadlineHeap<T> {
  private readonly keys: number[] = [];
  private readonly items: T[] = [];

  get size(): number {
    return this.keys.length;
  }

  /** The smallest deadline, or +Infinity when empty (so `peekKey() <= W` is simply false). */
  peekKey(): number {
    return this.keys.length > 0 ? (this.keys[0] as number) : Number.POSITIVE_INFINITY;
  }

  push(key: number, item: T): void {
    const keys = this.keys;
    const items = this.items;
    // Sift up with a hole: move parents down until the new key's place is found, then write once.
    let i = keys.length;
    keys.push(key);
    items.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const parentKey = keys[parent] as number;
      if (parentKey <= key) break;
      keys[i] = parentKey;
      items[i] = items[parent] as T;
      i = parent;
    }
    keys[i] = key;
    items[i] = item;
  }

  /** Removes and returns the item with the smallest deadline. Callers check `size` (or peekKey) first. */
  pop(): T {
    const keys = this.keys;
    const items = this.items;
    const top = items[0] as T;
    const lastKey = keys.pop() as number;
    const lastItem = items.pop() as T;
    const n = keys.length;
    if (n === 0) return top;
    // Sift the former last entry down from the root, again with a hole.
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      let childKey = keys[child] as number;
      const right = child + 1;
      if (right < n) {
        const rightKey = keys[right] as number;
        if (rightKey < childKey) {
          child = right;
          childKey = rightKey;
        }
      }
      if (childKey >= lastKey) break;
      keys[i] = childKey;
      items[i] = items[child] as T;
      i = child;
    }
    keys[i] = lastKey;
    items[i] = lastItem;
    return top;
  }
}
