/**
 * `npm run cost`'s bus comparison: the same stack and load priced on Kafka (MSK, `wsgw:msk`) and on
 * Redis (ElastiCache for Valkey, `wsgw:redis`), whichever of the two the stack deploys. Everything
 * but the bus, its cross-AZ traffic, its alarms and keys is the same in both estimates.
 */
import type { StackConfig } from '../infra/stack-config.js';
import { CostError } from './errors.js';
import { DEFAULT_ASSUMPTIONS, estimate } from './model.js';
import type { PriceBook } from './prices.js';
import { assumptionsFromConfig, deploymentFromConfig, onlyRegions } from './stack.js';
import type { Assumptions, BusKind, Estimate, Load } from './types.js';

export const BUS_KINDS: readonly BusKind[] = Object.freeze(['kafka', 'redis']);

/** One bus's price for the stack and load, or why it cannot be priced (a price file lacks an entry). */
export type BusPrice =
  | {
      readonly bus: BusKind;
      readonly usd: number;
      /** The bus's own lines: MSK, MSK Replicator, ElastiCache, and their clients' cross-AZ traffic. */
      readonly busUsd: number;
      readonly what: string;
      readonly estimate: Estimate;
    }
  | { readonly bus: BusKind; readonly error: string };

export interface BusComparison {
  readonly configured: BusKind;
  readonly buses: readonly BusPrice[];
}

const BUS_SERVICES = new Set([
  'MSK',
  'MSK Serverless',
  'MSK Replicator',
  'ElastiCache',
  'ElastiCache Serverless',
]);
const BUS_ITEMS = new Set(['Kafka clients across AZs', 'cache clients across AZs']);

/** What a stack's bus is, in a few words. */
export function describeBus(c: StackConfig, bus: BusKind): string {
  if (bus === 'kafka') {
    const brokers = c.msk.brokersPerAz * c.network.azCount;
    return `MSK ${brokers} × ${c.msk.instanceType} per region${c.regions.length > 1 ? `, ${c.msk.crossRegion}` : ''}`;
  }
  return c.redis.mode === 'nodes'
    ? `ElastiCache ${1 + c.redis.replicas} × ${c.redis.nodeType} per region${c.regions.length > 1 ? ', direct reads' : ''}`
    : `ElastiCache Serverless per region${c.regions.length > 1 ? ', direct reads' : ''}`;
}

/** Prices the stack on each bus for the same load. */
export function compareBuses(
  stack: string,
  c: StackConfig,
  load: Load,
  book: PriceBook,
  opts: { readonly regions?: string; readonly base?: Assumptions } = {},
): BusComparison {
  const buses = BUS_KINDS.map((bus): BusPrice => {
    const full = deploymentFromConfig(stack, c, bus);
    const d = opts.regions === undefined ? full : onlyRegions(full, opts.regions);
    const a: Assumptions = { ...(opts.base ?? DEFAULT_ASSUMPTIONS), ...assumptionsFromConfig(c, bus) };
    try {
      const e = estimate(d, load, book, a);
      const busUsd = e.regions
        .flatMap((r) => r.lines)
        .filter((l) => BUS_SERVICES.has(l.service) || BUS_ITEMS.has(l.item))
        .reduce((s, l) => s + l.usd, 0);
      return { bus, usd: e.usd, busUsd, what: describeBus(c, bus), estimate: e };
    } catch (err) {
      if (err instanceof CostError) return { bus, error: err.message };
      throw err;
    }
  });
  return { configured: c.bus, buses };
}

/** The comparison as a few lines of text. */
export function formatBusComparison(b: BusComparison): string {
  const usd = (n: number) =>
    `$${n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
  const out = ['', 'Bus comparison (the same stack and load; docs/cost.md, Kafka or Redis):'];
  for (const p of b.buses) {
    const mark = p.bus === b.configured ? ' (configured)' : '';
    out.push(
      'error' in p
        ? `  ${p.bus}${mark}: not priced: ${p.error}`
        : `  ${p.bus}${mark}: ${usd(p.usd)} a month, of which the bus ${usd(p.busUsd)} (${p.what})`,
    );
  }
  return out.join('\n') + '\n';
}
