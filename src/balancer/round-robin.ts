/**
 * Round robin (kamailio dispatcher algorithm 4, OpenSIPS dispatcher "round-robin").
 *
 * Pure: the caller owns the counter (in-process, or in the store when functions are stateless) and passes the turn
 * number in. The result is the whole candidate list rotated to start at this turn's pick, so serial failover walks
 * on to the next destinations in the same fair order.
 */
export function roundRobin<T>(candidates: readonly T[], turn: number): T[] {
  const count = candidates.length;
  if (count === 0) return [];
  const start = ((turn % count) + count) % count;
  return [...candidates.slice(start), ...candidates.slice(0, start)];
}
