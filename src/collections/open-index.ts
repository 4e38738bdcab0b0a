/**
 * The hash index of the typed-array tables (slot-map.ts, retired.ts): open addressing over an Int32Array whose
 * length is a power of two, each entry an item number + 1 (0 = empty), linear probing. `hashes[item]` is each item's
 * hash. Deletion shifts back the entries probed past the hole: no tombstones, so no rehash at steady state. It holds
 * no references, so the garbage collector has nothing to trace in it. Looking a key up stays with each table (they
 * compare keys differently): probe from `hash & (table.length - 1)` until an empty entry.
 */

/** Enter `item` (whose hash is `hash`) at the first empty position of its probe sequence. */
export function indexInsert(table: Int32Array, hash: number, item: number): void {
  const mask = table.length - 1;
  let i = hash & mask;
  while (table[i] !== 0) i = (i + 1) & mask;
  table[i] = item + 1;
}

/** Empty position `i`, moving back each entry probed past it that may live there (linear probing's deletion). */
export function indexRemoveAt(table: Int32Array, i: number, hashes: Int32Array): void {
  const mask = table.length - 1;
  for (let j = (i + 1) & mask; table[j] !== 0; j = (j + 1) & mask) {
    const home = hashes[table[j]! - 1]! & mask;
    // The entry at j may move to the hole at i when its home position is not cyclically within (i, j].
    const stays = i <= j ? home > i && home <= j : home > i || home <= j;
    if (!stays) {
      table[i] = table[j]!;
      i = j;
    }
  }
  table[i] = 0;
}
