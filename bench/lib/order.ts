/**
 * In which order a round measures its targets. This machine is shared: its
 * speed drifts by tens of percent within a minute, so two rows whose ratio is
 * a goal are measured back to back, and every other round in the opposite
 * order (A B, then B A), so that neither always runs first. The report then
 * takes the median of the per-round ratios (./stats.ts pairedRatio).
 */

export interface Compared {
  name: string;
  /** The row this one is compared with (its ratio is reported). */
  comparedWith?: string;
}

/** The round's order: as given in odd rounds (1, 3, ...), reversed in even ones. */
export function serpentine<T>(items: readonly T[], round: number): T[] {
  return round % 2 === 1 ? [...items] : [...items].reverse();
}

/**
 * Groups the plans so that each one stands next to what it is compared with:
 * the plans of one comparison chain (lighttpd-fcgi -> nginx-fcgi ->
 * nginx-php-fpm) and one connection count together, the reference first,
 * groups in the order their first member was given.
 */
export function comparisonOrder<P>(plans: readonly P[], of: (plan: P) => Compared & { connections: number }): P[] {
  const byName = new Map(plans.map((plan) => [of(plan).name, of(plan)]));
  const chain = (name: string): string[] => {
    const names = [name];
    for (let next = byName.get(name)?.comparedWith; next && !names.includes(next); next = byName.get(next)?.comparedWith) names.push(next);
    return names;
  };
  // Each plan's group (its chain's reference and connection count) and depth in the chain, once.
  const firstSeen = new Map<string, number>();
  const placed = plans.map((plan, index) => {
    const { name, connections } = of(plan);
    const names = chain(name);
    const group = `${names.at(-1)} c${connections}`;
    if (!firstSeen.has(group)) firstSeen.set(group, index);
    return { plan, group: firstSeen.get(group)!, depth: names.length };
  });
  return placed.sort((a, b) => a.group - b.group || a.depth - b.depth).map(({ plan }) => plan);
}
