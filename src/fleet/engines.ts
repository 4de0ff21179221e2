import type { ConfigOverrides, ResolvedConfig } from '../config/load.js';
import { configsByScheme } from './run.js';
import type { FleetTarget } from './targets.js';

/** One kind of database in a fleet: the config its targets run with (the lint dialect follows the engine), and how many targets it has. */
export interface FleetEngine {
  /** `sqlite`, `postgres`, `d1`, `pglite`: what the targets' URLs name. */
  readonly engine: string;
  readonly targets: number;
  /** The first target's config: what is done once for the engine (lint, verify's replay) is done as for it. */
  readonly config: ResolvedConfig;
}

/**
 * The engines among `targets`, in fleet order. What does not depend on the
 * database (lint, verifying the history) is done once per engine, not once
 * per target: a fleet of one engine does it once.
 */
export async function fleetEngines(targets: readonly FleetTarget[], overrides: ConfigOverrides): Promise<FleetEngine[]> {
  const configFor = configsByScheme(overrides);
  const firsts = new Map<string, { target: FleetTarget; count: number }>();
  for (const target of targets) {
    const seen = firsts.get(target.url.scheme);
    if (seen) seen.count++;
    else firsts.set(target.url.scheme, { target, count: 1 });
  }
  return Promise.all([...firsts].map(async ([engine, { target, count }]) => ({ engine, targets: count, config: await configFor(target) })));
}
