/**
 * `npm run cost -- <stack> --recommend`: the cheapest Kafka bus and cross-region mode for a load.
 *
 * Every broker type the price files price in all of the stack's regions, with the fewest brokers
 * per AZ the stack rules accept, in each cross-region mode, is put through the stack parser (a
 * candidate `pulumi up` would refuse is refused here with the parser's own message) and through
 * AWS's partition guidance, then priced whole by the same engine as the estimate. What is not
 * checked is said: broker network throughput (the output prints what each broker would send, to
 * compare with its BytesOutPerSec), and buses the stack cannot deploy.
 */
import {
  parseStackConfig,
  StackConfigError,
  type CrossRegionMode,
  type StackConfig,
} from '../infra/stack-config.js';
import { planMsk } from '../infra/plan.js';
import { estimate } from './model.js';
import type { PriceBook } from './prices.js';
import { assumptionsFromConfig, deploymentFromConfig, onlyRegions } from './stack.js';
import type { Assumptions, Load } from './types.js';

/**
 * Partition replicas (leaders and followers) AWS recommends per Standard broker at most (Amazon MSK
 * Developer Guide, Best practices for Standard brokers, Right-size your cluster: Number of
 * partitions per Standard broker, https://docs.aws.amazon.com/msk/latest/developerguide/bestpractices.html).
 */
export const MSK_RECOMMENDED_PARTITIONS_PER_BROKER: Readonly<Record<string, number>> = Object.freeze({
  'kafka.t3.small': 300,
  'kafka.m5.large': 1000,
  'kafka.m5.xlarge': 1000,
  'kafka.m5.2xlarge': 2000,
  'kafka.m5.4xlarge': 4000,
  'kafka.m7g.large': 1000,
  'kafka.m7g.xlarge': 1000,
  'kafka.m7g.2xlarge': 2000,
  'kafka.m7g.4xlarge': 4000,
});

/**
 * Kafka's consumer offsets topic (`offsets.topic.num.partitions`, 50 by default), which every
 * cluster holds whatever the stack's topics.
 */
export const OFFSETS_TOPIC_PARTITIONS = 50;

export interface Candidate {
  readonly instanceType: string;
  readonly brokersPerAz: number;
  readonly crossRegion: CrossRegionMode;
  /** Monthly total of the whole deployment; undefined when refused. */
  readonly usd?: number;
  /** Why the candidate cannot run the load; empty when it can. */
  readonly refused: readonly string[];
  /** Partition replicas per broker in the busiest region. */
  readonly partitionsPerBroker: number;
  /** What each broker of the busiest region sends, bytes/s: to every task reading, and to followers. */
  readonly brokerEgressBytesPerSecond: number;
}

export interface Recommendation {
  readonly candidates: readonly Candidate[];
  readonly best: Candidate | undefined;
  /** What the recommendation does not cover. */
  readonly notes: readonly string[];
}

const brokerTypes = (book: PriceBook, regions: readonly string[]): string[] => {
  const sets = regions.map(
    (r) =>
      new Set(
        Object.keys(book.files.get(r)?.prices ?? {})
          .filter((k) => k.startsWith('msk.brokerHour.'))
          .map((k) => k.slice('msk.brokerHour.'.length)),
      ),
  );
  return [...(sets[0] ?? [])]
    .filter((t) => sets.every((s) => s.has(t)) && MSK_RECOMMENDED_PARTITIONS_PER_BROKER[t] !== undefined)
    .sort();
};

function parse(raw: Readonly<Record<string, unknown>>, msk: Record<string, unknown>): StackConfig | string[] {
  try {
    const current = (raw['wsgw:msk'] ?? {}) as Record<string, unknown>;
    return parseStackConfig({ ...raw, 'wsgw:msk': { ...current, ...msk } });
  } catch (err) {
    if (err instanceof StackConfigError) return [...err.issues];
    throw err;
  }
}

/**
 * The candidates for a stack (its raw config, as read from the file) and a load, cheapest first
 * among those that can run it. `regions` restricts the stack as `--regions` does.
 */
export function recommend(
  stack: string,
  raw: Readonly<Record<string, unknown>>,
  load: Load,
  book: PriceBook,
  base: Assumptions,
  regions?: string,
): Recommendation {
  const config = parseStackConfig(raw);
  const names = (
    regions === undefined ? config.regions.map((r) => r.name) : regions.split(',').map((r) => r.trim())
  ).filter((r) => r !== '');
  const modes: CrossRegionMode[] = names.length > 1 ? ['replicator', 'direct'] : [config.msk.crossRegion];
  const candidates: Candidate[] = [];
  for (const instanceType of brokerTypes(book, names)) {
    for (const crossRegion of modes) {
      // The fewest brokers per AZ the stack rules accept (the Replicator needs 3, or 4 over two AZs).
      let parsed: StackConfig | string[] = [];
      let brokersPerAz = 1;
      for (; brokersPerAz <= 2; brokersPerAz++) {
        parsed = parse(raw, { instanceType, brokersPerAz, crossRegion });
        if (!Array.isArray(parsed)) break;
      }
      if (Array.isArray(parsed)) {
        candidates.push({
          instanceType,
          brokersPerAz: 1,
          crossRegion,
          refused: parsed,
          partitionsPerBroker: 0,
          brokerEgressBytesPerSecond: 0,
        });
        continue;
      }
      const c = parsed;
      const deployment =
        regions === undefined
          ? deploymentFromConfig(stack, c)
          : onlyRegions(deploymentFromConfig(stack, c), regions);
      const a = { ...base, ...assumptionsFromConfig(c) };
      const e = estimate(deployment, load, book, a);
      // Partition replicas and broker egress in the busiest region.
      let partitionsPerBroker = 0;
      let egress = 0;
      const rf = planMsk(c.msk.brokersPerAz, c.network.azCount).replicationFactor;
      const n = e.regions.length;
      for (const r of e.regions) {
        const brokers =
          deployment.regions.find((x) => x.name === r.region)?.mskBrokers ??
          c.msk.brokersPerAz * c.network.azCount;
        const topics = crossRegion === 'replicator' ? n : 1;
        partitionsPerBroker = Math.max(
          partitionsPerBroker,
          (topics * c.msk.partitions * rf + OFFSETS_TOPIC_PARTITIONS * rf) / brokers,
        );
        const remote = e.regions.filter((x) => x !== r);
        const stored =
          r.traffic.kafkaBytesPerSecond +
          (crossRegion === 'replicator'
            ? remote.reduce((s, x) => s + x.traffic.kafkaBytesPerSecond * e.load.crossRegionShare, 0)
            : 0);
        // Every local task reads every stored record; in direct mode every remote task reads the
        // local topic too; followers fetch (RF − 1) copies of what is written.
        const readers =
          r.tasks.running +
          (crossRegion === 'direct'
            ? remote.reduce((s, x) => s + x.tasks.running, 0) * e.load.crossRegionShare
            : 0);
        const local = crossRegion === 'direct' ? r.traffic.kafkaBytesPerSecond : stored;
        egress = Math.max(
          egress,
          (r.tasks.running * stored + (readers - r.tasks.running) * local + (rf - 1) * stored) / brokers,
        );
      }
      const max = MSK_RECOMMENDED_PARTITIONS_PER_BROKER[instanceType]!;
      const refused =
        partitionsPerBroker > max
          ? [
              `${Math.ceil(partitionsPerBroker)} partition replicas per broker; AWS recommends at most ${max} on ${instanceType}`,
            ]
          : [];
      candidates.push({
        instanceType,
        brokersPerAz,
        crossRegion,
        usd: e.usd,
        refused,
        partitionsPerBroker,
        brokerEgressBytesPerSecond: egress,
      });
    }
  }
  const ok = candidates.filter((c) => c.refused.length === 0).sort((x, y) => (x.usd ?? 0) - (y.usd ?? 0));
  const refused = candidates.filter((c) => c.refused.length > 0);
  return {
    candidates: [...ok, ...refused],
    best: ok[0],
    notes: [
      "broker network throughput is not modelled: compare the egress per broker printed here with the brokers' BytesOutPerSec",
      'MSK Serverless is priced by the engine but the stack has no serverless option',
      'a Redis bus is not offered: the gateway has no Redis bus and the price files price no ElastiCache',
    ],
  };
}
