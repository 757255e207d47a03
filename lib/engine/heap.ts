/**
 * A binary min-heap of (deadline, slot) pairs, slots being small non-negative integers: the fold's
 * event-time timer queue, the counterpart of Flink's InternalTimerService priority queue. A
 * watermark advance pops every entry with deadline <= W, in deadline order, as Flink fires
 * event-time timers. The operator's slots index its session table (see WorkSession.slot).
 *
 * Each entry is two doubles side by side in one Float64Array, grown by doubling. So a push
 * allocates nothing (an array of {key, item} objects would allocate one object per push), a level
 * of a sift reads both children from one cache line, and moving an entry is a copy of two numbers,
 * where moving an object pointer within an array costs a GC write barrier (whose slow path runs
 * whenever the object is young). A plain array of doubles would also hand back each popped key as a
 * freshly allocated HeapNumber and re-check its elements kind on every access. Entries are never
 * removed from the middle: the owner invalidates them lazily (see operator.ts).
 *
 * Index arithmetic is truncated with `| 0` (sizes stay far below 2^30): the compiler then emits
 * plain 32-bit operations instead of checking each one for overflow.
 */
export class SlotHeap {
  /** Entry i is heap[2i] (deadline) and heap[2i + 1] (slot). */
  private heap: Float64Array;
  private n = 0;

  /** `capacity`: entries to make room for at once (a cold load knows how many sessions it schedules). */
  constructor(capacity = 64) {
    this.heap = new Float64Array(2 * Math.max(64, capacity));
  }

  get size(): number {
    return this.n;
  }

  /** Bytes the queue holds (its capacity, grown by doubling). */
  get bytes(): number {
    return this.heap.byteLength;
  }

  /** The smallest deadline, or +Infinity when empty (so `peekKey() <= W` is simply false). */
  peekKey(): number {
    return this.n > 0 ? (this.heap[0] as number) : Number.POSITIVE_INFINITY;
  }

  push(key: number, slot: number): void {
    let i = this.n;
    if (2 * i === this.heap.length) {
      // Doubling while small, then by a quarter: a big partition's queue is at most a fifth empty.
      const grown = new Float64Array(2 * (i < 65_536 ? 2 * i : Math.ceil(i * 1.25)));
      grown.set(this.heap);
      this.heap = grown;
    }
    const heap = this.heap;
    this.n = i + 1;
    // Sift up with a hole: move parents down until the new key's place is found, then write once.
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const parentKey = heap[parent << 1] as number;
      if (parentKey <= key) break;
      heap[i << 1] = parentKey;
      heap[((i << 1) + 1) | 0] = heap[((parent << 1) + 1) | 0] as number;
      i = parent;
    }
    heap[i << 1] = key;
    heap[((i << 1) + 1) | 0] = slot;
  }

  /** Removes and returns the slot with the smallest deadline. Callers check `size` (or peekKey) first. */
  pop(): number {
    const heap = this.heap;
    const top = heap[1] as number;
    const n = (this.n - 1) | 0;
    this.n = n;
    if (n === 0) return top;
    const lastKey = heap[n << 1] as number;
    const lastSlot = heap[((n << 1) + 1) | 0] as number;
    // Bottom-up deletion (Wegener): move the hole from the root down the path of smaller children to
    // the bottom, one comparison per level, then back up to where the former last entry belongs.
    // That entry is one of the latest deadlines pushed, so it rarely climbs more than a level or
    // two, while the textbook sift-down spends a second comparison on every level to find out. The
    // layout is exactly the textbook one: along the path, keys never decrease, and the entry lands
    // below the path entries with smaller keys and above those with keys >= its own, which is
    // where sift-down stops (ties choose the left child in both).
    let i = 0;
    for (;;) {
      let child = ((i << 1) + 1) | 0;
      if (child >= n) break;
      let childKey = heap[child << 1] as number;
      const right = (child + 1) | 0;
      if (right < n) {
        const rightKey = heap[right << 1] as number;
        if (rightKey < childKey) {
          child = right;
          childKey = rightKey;
        }
      }
      heap[i << 1] = childKey;
      heap[((i << 1) + 1) | 0] = heap[((child << 1) + 1) | 0] as number;
      i = child;
    }
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const parentKey = heap[parent << 1] as number;
      if (parentKey < lastKey) break;
      heap[i << 1] = parentKey;
      heap[((i << 1) + 1) | 0] = heap[((parent << 1) + 1) | 0] as number;
      i = parent;
    }
    heap[i << 1] = lastKey;
    heap[((i << 1) + 1) | 0] = lastSlot;
    return top;
  }
}

/**
 * The same queue for arbitrary items: a SlotHeap over indices into an item table, whose freed
 * indices are reused. Pops in exactly SlotHeap's order. The operator uses SlotHeap directly (its
 * sessions carry their slot), which saves this table's bookkeeping on every push and pop.
 */
export class DeadlineHeap<T> {
  private readonly heap = new SlotHeap();
  /** Items by index; undefined where the index is free. */
  private readonly items: (T | undefined)[] = [];
  private readonly free: number[] = [];

  get size(): number {
    return this.heap.size;
  }

  /** The smallest deadline, or +Infinity when empty (so `peekKey() <= W` is simply false). */
  peekKey(): number {
    return this.heap.peekKey();
  }

  push(key: number, item: T): void {
    const index = this.free.length > 0 ? (this.free.pop() as number) : this.items.length;
    this.items[index] = item;
    this.heap.push(key, index);
  }

  /** Removes and returns the item with the smallest deadline. Callers check `size` (or peekKey) first. */
  pop(): T {
    const index = this.heap.pop();
    const item = this.items[index] as T;
    this.items[index] = undefined;
    this.free.push(index);
    return item;
  }
}
