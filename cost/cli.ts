/**
 * `npm run cost -- <stack> [options]`: the monthly bill of a stack for a load profile, as a table,
 * JSON or an SVG chart. See docs/cost.md.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { BUS_KINDS, compareBuses, formatBusComparison } from './bus.js';
import { buildReport } from './compare.js';
import { defaultRange, logSpace, renderSvg, sweep, sweepStacks } from './chart.js';
import { CostError } from './errors.js';
import { formatComparison, formatRecommendation, formatReport } from './format.js';
import { recommend } from './recommend.js';
import { DEFAULT_ASSUMPTIONS, DEFAULT_LOAD } from './model.js';
import { DEFAULT_PRICES_DIR, loadPriceBook } from './prices.js';
import { assumptionsFromConfig, deploymentFromConfig, onlyRegions, readDeployment } from './stack.js';
import type { Assumptions, BusKind, Deployment, Load } from './types.js';

export const USAGE = `usage: npm run cost -- <stack> [options]
       npm run cost -- <stack> <stack>... --chart FILE.svg [options]

  <stack>                      a stack name (reads Pulumi.<stack>.yaml) or a path to a stack file;
                               several stacks are compared in one chart (with API Gateway)

load profile
  --connections N              concurrent connections, whole deployment
                               (default: minTasks x connectionsPerTask summed over regions)
  --msg-rate R                 messages delivered to each connection per second (default ${DEFAULT_LOAD.msgRate})
  --msg-bytes B                average payload bytes per message (default ${DEFAULT_LOAD.msgBytes})
  --compression-ratio R        compressed ÷ uncompressed payload bytes with permessage-deflate, 0 < R <= 1,
                               for payloads of 512 B and more (default ${DEFAULT_LOAD.compressionRatio}, measured:
                               1 KiB JSON; 1 = no compression)
  --publish-rate P             messages published per second, whole deployment
                               (default: connections x msg-rate / fanout)
  --fanout F                   subscribers per published message (default ${DEFAULT_LOAD.fanout})
  --cross-region-share S       share of published bytes other regions receive, 0..1 (default ${DEFAULT_LOAD.crossRegionShare})
  --session-minutes M          average connection lifetime (default ${DEFAULT_LOAD.sessionMinutes})
  --split REGION=W,...         relative share of each region (default: equal)
  --regions REGION,...         price only these regions of the stack, as if it listed no others

model
  --bus kafka|redis|both       price the stack on this bus (default: the stack's wsgw:bus); both prints
                               a report for each. A comparison of the two buses at the same load is
                               printed either way (sized by wsgw:msk and wsgw:redis)
  --rack-aware                 consumers fetch from a replica in their own AZ (Kafka client.rack),
                               as with wsgw:msk.zoneLocalReads; default: what the stack sets
  --prices DIR                 price files directory (default: cost/prices)
  --recommend                  also price every MSK broker type and cross-region mode the stack
                               rules accept for this load, and name the cheapest

output
  --json                       the full report as JSON
  --chart FILE.svg             also write monthly cost against concurrent connections
  --range FROM..TO             the chart's connection range (default: around --connections)
  --details                    show how each quantity was derived
  -h, --help

Numbers accept k and M suffixes (250k, 1.5M) and fractions (--msg-rate 1/60: one a minute).`;

/** `250k` -> 250000, `1.5M` -> 1500000, `1/60` -> 0.01666…; throws on anything else. */
export function parseQuantity(flag: string, raw: string): number {
  const [num, den, ...rest] = raw.split('/');
  if (den !== undefined) {
    const d = rest.length === 0 ? parseQuantity(flag, den) : 0;
    if (!(d > 0)) throw new CostError('WSGW_COST_BAD_LOAD', `--${flag}: "${raw}" is not a number`);
    return parseQuantity(flag, num ?? '') / d;
  }
  const m = /^\s*(-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)\s*([kKmM]?)\s*$/.exec(raw.replace(/_/g, ''));
  if (!m) throw new CostError('WSGW_COST_BAD_LOAD', `--${flag}: "${raw}" is not a number`);
  const mult = m[2] === 'k' || m[2] === 'K' ? 1e3 : m[2] === 'm' || m[2] === 'M' ? 1e6 : 1;
  return Number(m[1]) * mult;
}

/** `10k..3M` -> [10000, 3000000]. */
export function parseRange(raw: string): [number, number] {
  const [a, b, ...rest] = raw.split('..');
  const from = a === undefined ? NaN : parseQuantity('range', a);
  const to = b === undefined ? NaN : parseQuantity('range', b);
  if (rest.length > 0 || !(from > 0) || !(to > from))
    throw new CostError('WSGW_COST_BAD_ARGS', `--range: "${raw}" is not FROM..TO with 0 < FROM < TO`);
  return [from, to];
}

/** `us-east-1=2,eu-west-1=1` -> { 'us-east-1': 2, 'eu-west-1': 1 }. */
export function parseSplit(raw: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of raw.split(',').filter((p) => p.trim() !== '')) {
    const [k, v, ...rest] = part.split('=');
    if (!k || v === undefined || rest.length > 0)
      throw new CostError('WSGW_COST_BAD_LOAD', `--split: "${part}" is not REGION=WEIGHT`);
    out[k.trim()] = parseQuantity('split', v);
  }
  return out;
}

export interface CliIo {
  readonly cwd: string;
  readonly out: (s: string) => void;
  readonly err: (s: string) => void;
}

/** Default connections: what the stack's minimum task count is sized for. */
export function defaultConnections(d: Deployment): number {
  return d.regions.reduce((s, r) => s + r.minTasks, 0) * d.connectionsPerTask;
}

/** Runs the CLI; returns the exit code. */
export function main(argv: readonly string[], io: CliIo): number {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        connections: { type: 'string' },
        'msg-rate': { type: 'string' },
        'msg-bytes': { type: 'string' },
        'compression-ratio': { type: 'string' },
        'publish-rate': { type: 'string' },
        fanout: { type: 'string' },
        'cross-region-share': { type: 'string' },
        'session-minutes': { type: 'string' },
        split: { type: 'string' },
        regions: { type: 'string' },
        'rack-aware': { type: 'boolean' },
        bus: { type: 'string' },
        prices: { type: 'string' },
        json: { type: 'boolean' },
        chart: { type: 'string' },
        details: { type: 'boolean' },
        recommend: { type: 'boolean' },
        range: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    io.err(`wsgw cost: ${(err as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  const { values: v, positionals } = parsed;
  if (v.help) {
    io.out(USAGE + '\n');
    return 0;
  }
  if (positionals.length === 0 || (positionals.length > 1 && !v.chart)) {
    io.err(
      `wsgw cost: ${positionals.length === 0 ? 'expected a stack name' : 'several stacks are compared only in a chart (--chart FILE.svg)'}\n\n${USAGE}\n`,
    );
    return 2;
  }
  const busFlag = v.bus;
  if (busFlag !== undefined && busFlag !== 'both' && !(BUS_KINDS as readonly string[]).includes(busFlag)) {
    io.err(`wsgw cost: --bus: "${busFlag}" is not one of kafka, redis, both\n\n${USAGE}\n`);
    return 2;
  }
  if (busFlag === 'both' && positionals.length > 1) {
    io.err(`wsgw cost: --bus both prices one stack; name one bus for a chart of several\n\n${USAGE}\n`);
    return 2;
  }
  try {
    const book = loadPriceBook(v.prices ? resolve(io.cwd, v.prices) : DEFAULT_PRICES_DIR);
    const priceOn = (name: string, busOf: (configured: BusKind) => BusKind) => {
      const s = readDeployment(name, io.cwd);
      const bus = busOf(s.config.bus);
      const onBus =
        bus === s.config.bus ? s.deployment : deploymentFromConfig(s.deployment.stack, s.config, bus);
      const deployment = v.regions === undefined ? onBus : onlyRegions(onBus, v.regions);
      const assumptions: Assumptions = {
        ...DEFAULT_ASSUMPTIONS,
        ...assumptionsFromConfig(s.config, bus),
        ...(v['rack-aware'] ? { rackAwareConsumers: true } : {}),
      };
      return { ...s, deployment, assumptions };
    };
    const chosen = (configured: BusKind): BusKind =>
      busFlag === undefined || busFlag === 'both' ? configured : (busFlag as BusKind);
    const stacks = positionals.map((name) => priceOn(name, chosen));
    const first = stacks[0]!;
    const q = (flag: string, raw: string | undefined, fallback: number): number =>
      raw === undefined ? fallback : parseQuantity(flag, raw);
    const load: Load = {
      connections: q('connections', v.connections, defaultConnections(first.deployment)),
      msgRate: q('msg-rate', v['msg-rate'], DEFAULT_LOAD.msgRate),
      msgBytes: q('msg-bytes', v['msg-bytes'], DEFAULT_LOAD.msgBytes),
      compressionRatio: q('compression-ratio', v['compression-ratio'], DEFAULT_LOAD.compressionRatio),
      fanout: q('fanout', v.fanout, DEFAULT_LOAD.fanout),
      crossRegionShare: q('cross-region-share', v['cross-region-share'], DEFAULT_LOAD.crossRegionShare),
      sessionMinutes: q('session-minutes', v['session-minutes'], DEFAULT_LOAD.sessionMinutes),
      ...(v['publish-rate'] !== undefined
        ? { publishRate: parseQuantity('publish-rate', v['publish-rate']) }
        : {}),
      ...(v.split !== undefined ? { distribution: parseSplit(v.split) } : {}),
    };
    const reports = stacks.map((s) => buildReport(s.deployment, load, book, s.assumptions));
    const report = reports[0]!;
    if (v.chart) {
      const [from, to] =
        v.range === undefined ? defaultRange(report.estimate.load.connections) : parseRange(v.range);
      const xs = logSpace(from, to, 25);
      const dates = [...new Set(report.estimate.prices.map((p) => p.asOf))].join(', ');
      const subtitle = `${+report.estimate.load.msgRate.toPrecision(3)} msg/s per connection, ${report.estimate.load.msgBytes} B, ${first.deployment.regions.map((r) => r.name).join(' + ')}; AWS list prices as of ${dates}`;
      const svg =
        stacks.length === 1
          ? renderSvg(sweep(first.deployment, load, book, first.assumptions, xs), {
              title: `wsgw stack ${first.deployment.stack}: monthly cost against concurrent connections`,
              subtitle,
              marker: report.estimate.load.connections,
              capacity:
                first.deployment.regions.reduce((sum, r) => sum + r.maxTasks, 0) *
                first.deployment.connectionsPerTask,
            })
          : renderSvg(sweepStacks(stacks, load, book, xs), {
              title: `wsgw ${stacks.map((s) => s.deployment.stack).join(', ')} and API Gateway: monthly cost against connections`,
              subtitle,
              marker: report.estimate.load.connections,
            });
      const path = resolve(io.cwd, v.chart);
      writeFileSync(path, svg);
      if (!v.json) io.err(`chart written to ${path}\n`);
    }
    if (stacks.length > 1) {
      const out = reports.map((r, i) => ({
        stack: stacks[i]!.deployment.stack,
        usd: r.estimate.usd,
        apiGateway: r.apiGateway.usd,
        ratio: r.apiGateway.ratioToFleet,
      }));
      if (v.json) io.out(JSON.stringify(out, null, 2) + '\n');
      else io.out(formatComparison(out, report.estimate.load.connections));
      return 0;
    }
    const rec = v.recommend
      ? recommend(first.deployment.stack, first.raw, load, book, DEFAULT_ASSUMPTIONS, v.regions)
      : undefined;
    const buses = compareBuses(first.deployment.stack, first.config, load, book, {
      ...(v.regions !== undefined ? { regions: v.regions } : {}),
    });
    // --bus both: a full report on each bus (the configured one first).
    const others =
      busFlag === 'both'
        ? BUS_KINDS.filter((b) => b !== first.config.bus).map((b) => {
            const s = priceOn(positionals[0]!, () => b);
            return buildReport(s.deployment, load, book, s.assumptions);
          })
        : [];
    const busComparison = {
      configured: buses.configured,
      buses: buses.buses.map((b) =>
        'error' in b ? b : { bus: b.bus, usd: b.usd, busUsd: b.busUsd, what: b.what },
      ),
    };
    if (v.json)
      io.out(
        JSON.stringify(
          {
            ...report,
            ...(rec ? { recommendation: rec } : {}),
            ...(others.length > 0 ? { otherBuses: others } : {}),
            busComparison,
          },
          null,
          2,
        ) + '\n',
      );
    else
      io.out(
        [report, ...others].map((r) => formatReport(r, { details: v.details ?? false })).join('\n') +
          (rec ? formatRecommendation(rec) : '') +
          formatBusComparison(buses),
      );
    return 0;
  } catch (err) {
    if (err instanceof CostError) {
      io.err(`wsgw cost: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = main(process.argv.slice(2), {
    cwd: process.cwd(),
    out: (s) => process.stdout.write(s),
    err: (s) => process.stderr.write(s),
  });
}
