/**
 * Reads a `Pulumi.<stack>.yaml` and turns it into the cost model's `Deployment`, through the very
 * parser the Pulumi program uses (`infra/config.ts`), so the estimate always prices what
 * `pulumi up` would deploy.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parseStackConfig, StackConfigError, type StackConfig } from '../infra/stack-config.js';
import { ecrRepositoryArnFromImage, planMsk, planRedis } from '../infra/plan.js';
import { CostError } from './errors.js';
import type { Assumptions, BusKind, Deployment, NatChoice } from './types.js';

const NAT: Readonly<Record<StackConfig['network']['nat'], NatChoice>> = {
  perAz: 'per-az',
  single: 'single',
  none: 'none',
};

/**
 * Maps a parsed stack config onto the cost model's input: on its own bus, or on `bus` (the other
 * bus of `npm run cost`'s comparison, sized by the stack's `wsgw:msk` or `wsgw:redis`).
 */
export function deploymentFromConfig(stack: string, c: StackConfig, bus: BusKind = c.bus): Deployment {
  const redis = bus === 'redis';
  const plan = planRedis(c.redis);
  return {
    stack,
    regions: c.regions.map((r) => ({
      name: r.name,
      minTasks: r.minTasks,
      maxTasks: r.maxTasks,
      ...(r.brokerCount !== c.msk.brokersPerAz * c.network.azCount ? { mskBrokers: r.brokerCount } : {}),
    })),
    task: {
      vcpu: c.task.cpu / 1024,
      memoryGiB: c.task.memory / 1024,
      arch: c.task.architecture === 'ARM64' ? 'arm64' : 'x86_64',
    },
    connectionsPerTask: c.connectionsPerTask,
    msk: {
      kind: 'provisioned',
      brokers: c.msk.brokersPerAz * c.network.azCount,
      instanceType: c.msk.instanceType,
      storageGiB: c.msk.volumeGiB,
    },
    bus,
    ...(redis
      ? {
          redis:
            plan.mode === 'nodes'
              ? { kind: 'nodes' as const, nodeType: c.redis.nodeType, nodes: plan.nodes }
              : { kind: 'serverless' as const },
        }
      : {}),
    // Gateways read the other regions' caches directly; there is no replicator for Redis.
    crossRegion: redis ? 'direct' : c.msk.crossRegion,
    nat: NAT[c.network.nat],
    azCount: c.network.azCount,
    retentionHours: c.msk.retentionHours,
    // An NLB passes TCP to tasks that terminate TLS themselves (wsgw:edge nlb).
    loadBalancer: c.edge === 'nlb' ? 'nlb-tcp' : 'alb',
    // The alarm topic is encrypted with a key of the stack's own, in every region; a cache is
    // encrypted at rest under one more. (The MSK cluster's key is not counted; docs/cost.md.)
    kmsKeysPerRegion: redis ? 2 : 1,
    s3GatewayEndpoint: true,
    image: {
      repositoryPerRegion: c.image === undefined,
      inEcr: c.image === undefined || ecrRepositoryArnFromImage(c.image) !== undefined,
    },
  };
}

/** Model constants the stack config decides: topic replication factor, log retention, keep-alives. */
export function assumptionsFromConfig(
  c: StackConfig,
  bus: BusKind = c.bus,
): Pick<
  Assumptions,
  | 'alarmsPerRegion'
  | 'replicationFactor'
  | 'logRetentionDays'
  | 'rackAwareConsumers'
  | 'serverPingIntervalSeconds'
  | 'sdkPingIntervalSeconds'
  | 'skipGatewayPingAfterClientFrame'
> {
  return {
    // Kafka: 4 alarms a region; a cache has two instead of consumer lag (infra/components/monitoring.ts).
    alarmsPerRegion: bus === 'redis' ? 5 : 4,
    replicationFactor: planMsk(c.msk.brokersPerAz, c.network.azCount).replicationFactor,
    logRetentionDays: c.logRetentionDays,
    rackAwareConsumers: bus === 'kafka' && c.msk.zoneLocalReads,
    serverPingIntervalSeconds: c.keepalive.pingSeconds,
    sdkPingIntervalSeconds: c.keepalive.clientPingSeconds,
    skipGatewayPingAfterClientFrame: c.keepalive.skipPingAfterClientFrame,
  };
}

/** The stack file for a name (`dev` -> `<dir>/Pulumi.dev.yaml`) or a path ending in .yaml/.yml. */
export function stackFilePath(stackOrPath: string, dir = process.cwd()): string {
  return /\.ya?ml$/.test(stackOrPath) ? resolve(dir, stackOrPath) : join(dir, `Pulumi.${stackOrPath}.yaml`);
}

/** Stack names that have a `Pulumi.<stack>.yaml` in `dir`. */
export function listStacks(dir = process.cwd()): string[] {
  try {
    return readdirSync(dir)
      .map((f) => /^Pulumi\.(.+)\.ya?ml$/.exec(f)?.[1])
      .filter((s): s is string => s !== undefined)
      .sort();
  } catch {
    return [];
  }
}

/** Reads, parses and maps one stack file. Secure values are ignored; the cost model needs none. */
export function readDeployment(
  stackOrPath: string,
  dir = process.cwd(),
): { deployment: Deployment; config: StackConfig; file: string; raw: Readonly<Record<string, unknown>> } {
  const file = stackFilePath(stackOrPath, dir);
  const stack = basename(file)
    .replace(/^Pulumi\./, '')
    .replace(/\.ya?ml$/, '');
  if (!existsSync(file)) {
    const known = listStacks(dir);
    throw new CostError(
      'WSGW_COST_BAD_STACK',
      `no stack file ${file}${known.length ? ` (stacks here: ${known.join(', ')})` : ''}`,
    );
  }
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CostError(
      'WSGW_COST_BAD_STACK',
      `${basename(file)}: not valid YAML (${(err as Error).message})`,
    );
  }
  const rawConfig =
    (doc && typeof doc === 'object' && 'config' in doc ? (doc as { config: unknown }).config : undefined) ??
    {};
  if (typeof rawConfig !== 'object' || rawConfig === null || Array.isArray(rawConfig)) {
    throw new CostError('WSGW_COST_BAD_STACK', `${basename(file)}: "config" must be a map`);
  }
  const raw = Object.fromEntries(
    Object.entries(rawConfig as Record<string, unknown>).map(([k, v]) => [
      k,
      v && typeof v === 'object' && 'secure' in v ? '[secret]' : v,
    ]),
  );
  try {
    const config = parseStackConfig(raw);
    return { deployment: deploymentFromConfig(stack, config), config, file, raw };
  } catch (err) {
    if (err instanceof StackConfigError) {
      throw new CostError(
        'WSGW_COST_BAD_STACK',
        `${basename(file)}: invalid stack configuration:\n  ${err.issues.join('\n  ')}`,
      );
    }
    throw err;
  }
}

/** The stack's deployment restricted to the named regions, in the stack's order. */
export function onlyRegions(d: Deployment, raw: string): Deployment {
  const names = raw
    .split(',')
    .map((r) => r.trim())
    .filter((r) => r !== '');
  const known = d.regions.map((r) => r.name);
  const unknown = names.filter((n) => !known.includes(n));
  if (names.length === 0 || unknown.length > 0) {
    throw new CostError(
      'WSGW_COST_BAD_ARGS',
      `--regions: ${unknown.length > 0 ? `"${unknown.join(', ')}" not in` : 'name at least one of'} the stack's regions (${known.join(', ')})`,
    );
  }
  return { ...d, regions: d.regions.filter((r) => names.includes(r.name)) };
}
