/** The readable table: one block per region, line by line, then totals, comparisons and warnings. */
import type { Report } from './compare.js';
import type { Recommendation } from './recommend.js';
import type { LineItem } from './types.js';

export function usd(n: number): string {
  return '$' + n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}

/** Unit prices keep four significant digits below a dollar ($0.03238, $0.0225). */
export function unitPrice(n: number): string {
  return n >= 1 || n === 0 ? usd(n) : `$${+n.toPrecision(4)}`;
}

export function num(n: number): string {
  if (n === 0) return '0';
  const digits = Math.abs(n) >= 100 ? 0 : Math.abs(n) >= 1 ? 2 : 4;
  return n.toLocaleString('en-US', { maximumFractionDigits: digits });
}

function pad(s: string, w: number, right = false): string {
  return right ? s.padStart(w) : s.padEnd(w);
}

const COLS = [20, 36, 14, 28, 11, 14] as const;

function row(cells: readonly string[]): string {
  return (
    '  ' +
    cells
      .map((c, i) => pad(c, COLS[i] ?? 10, i === 2 || i >= 4))
      .join(' ')
      .trimEnd()
  );
}

function lineRows(lines: readonly LineItem[], details: boolean): string[] {
  const out: string[] = [];
  for (const l of lines) {
    out.push(row([l.service, l.item, num(l.quantity), l.unit, unitPrice(l.unitUsd), usd(l.usd)]));
    if (details) out.push(`      ${l.detail}`);
  }
  return out;
}

/** Renders a report as plain text. `details` adds the derivation under every line. */
export function formatReport(r: Report, opts: { details?: boolean } = {}): string {
  const e = r.estimate;
  const d = e.deployment;
  const L = e.load;
  const details = opts.details ?? false;
  const out: string[] = [];
  const dates = [...new Set(e.prices.map((p) => p.asOf))].join(', ');
  const versions = [...new Set(e.prices.map((p) => p.version))].join(', ');
  out.push(`wsgw monthly cost estimate: stack ${e.stack}`);
  out.push(
    `Deployment: ${d.regions.map((x) => `${x.name} (${x.minTasks}-${x.maxTasks} tasks)`).join(', ')}; ` +
      `task ${d.task.vcpu} vCPU / ${d.task.memoryGiB} GB ${d.task.arch}; ${d.connectionsPerTask.toLocaleString('en-US')} connections per task; ` +
      (d.bus === 'redis'
        ? `Redis: ElastiCache for Valkey ${d.redis?.kind === 'nodes' ? `${d.redis.nodes} × ${d.redis.nodeType}` : 'serverless'}; `
        : `MSK ${d.msk.kind === 'provisioned' ? `${d.msk.brokers} × ${d.msk.instanceType}, ${d.msk.storageGiB} GB each` : `serverless, ${d.msk.partitions} partitions`}; `) +
      `crossRegion ${d.crossRegion}; NAT ${d.nat}; ${d.azCount} AZs`,
  );
  out.push(
    `Load: ${Math.round(L.connections).toLocaleString('en-US')} concurrent connections; ${num(L.msgRate)} msg/s delivered per connection; ` +
      `${L.msgBytes} B per message; ${num(L.publishRate)} msg/s published; cross-region share ${L.crossRegionShare}; sessions ${num(L.sessionMinutes)} min`,
  );
  out.push(
    `Prices: AWS list prices as of ${dates} (price files ${versions}); check them against the named sources before relying on them.`,
  );
  out.push('');
  for (const reg of e.regions) {
    const t = reg.tasks;
    out.push(
      `${reg.region} (${reg.location}): ${Math.round(reg.traffic.connections).toLocaleString('en-US')} connections, ` +
        `${t.running} task${t.running === 1 ? '' : 's'}${t.clampedTo ? ` (needed ${t.needed}, clamped to ${t.clampedTo})` : ''}`,
    );
    out.push(row(['service', 'item', 'quantity', 'unit', 'unit price', 'per month']));
    out.push(...lineRows(reg.lines, details));
    out.push(row(['subtotal', '', '', '', '', usd(reg.usd)]));
    out.push('');
  }
  out.push('global');
  out.push(...lineRows(e.global, details));
  out.push('');
  out.push(`Total per month: ${usd(e.usd)}`);
  if (e.usdPerMillionConnections !== null) {
    out.push(`Per million concurrent connections per month: ${usd(e.usdPerMillionConnections)}`);
  }
  out.push('');

  const z = r.compression;
  out.push(
    z.applies
      ? `Compression (permessage-deflate, ratio ${num(z.ratio)}): internet out ${num(Math.round(z.internetOutGb))} GB instead of ` +
          `${num(Math.round(z.internetOutGbUncompressed))} GB per month; saves ${usd(z.usdSaved)} per month`
      : `Compression: none (${L.msgBytes} B payloads are below the gateway's 512 B threshold${z.ratio >= 1 ? ', or ratio 1' : ''})`,
  );
  out.push('');

  const g = r.apiGateway;
  out.push('Same load on AWS API Gateway WebSocket APIs');
  out.push(
    ...lineRows(
      g.regions.flatMap((x) => x.lines.map((l) => ({ ...l, item: `${l.item} (${x.region})` }))),
      false,
    ),
  );
  out.push(
    `  total ${usd(g.usd)} per month` +
      (g.ratioToFleet !== null ? `, ${num(g.ratioToFleet)} × the fleet` : '') +
      (g.usdPerMillionConnections !== null
        ? `; ${usd(g.usdPerMillionConnections)} per million connections`
        : ''),
  );
  for (const line of g.assumptions) out.push(`  assumes ${line}`);
  out.push(`  not included: ${g.excludes.join('; ')}`);
  out.push('');

  if (r.crossRegion) {
    const c = r.crossRegion;
    out.push('Cross-region mode (whole deployment, everything else equal)');
    out.push(
      `  replicator ${usd(c.usd.replicator)}   direct ${usd(c.usd.direct)}   configured: ${c.configured}; cheaper at this load: ${c.cheaper}`,
    );
    if (c.breakEvenPublishRate !== null) {
      const high = c.cheaperAtLowRates === 'direct' ? 'replicator' : 'direct';
      out.push(
        `  break-even at ${num(c.breakEvenPublishRate)} msg/s published: ${c.cheaperAtLowRates} is cheaper below it, ${high} above it (tasks held fixed)`,
      );
    } else {
      out.push(
        `  no break-even: ${c.cheaperAtLowRates} is cheaper at every publish rate for these task counts`,
      );
    }
    out.push('');
  }

  out.push('Load-balancer line, all regions (units per region, with the dimension that decides them)');
  for (const lb of r.loadBalancers) {
    const units = lb.regions.map((x) => `${x.region} ${num(x.units)} (${x.dominant})`).join(', ');
    out.push(`  ${pad(lb.name, 34)} ${pad(usd(lb.usd), 14, true)}   units: ${units}`);
    out.push(`  ${pad('', 34)} ${pad('', 14)}   ${lb.note}`);
  }

  const warnings = [...e.warnings, ...g.warnings];
  if (warnings.length > 0) {
    out.push('');
    out.push('Warnings');
    for (const w of warnings) out.push(`  - ${w}`);
  }
  return out.join('\n') + '\n';
}

/** Several stacks at one load: their totals and API Gateway's. */
export function formatComparison(
  rows: readonly { stack: string; usd: number; apiGateway: number; ratio: number | null }[],
  connections: number,
): string {
  const out = [`Monthly cost at ${Math.round(connections).toLocaleString('en-US')} connections`];
  for (const r of rows)
    out.push(
      `  ${pad(r.stack, 20)} ${pad(usd(r.usd), 14, true)}   API Gateway ${usd(r.apiGateway)}, ${r.ratio === null ? 'n/a' : `${num(r.ratio)} ×`}`,
    );
  return out.join('\n') + '\n';
}

/** `--recommend`: the candidates, cheapest first, the refused ones with the reason. */
export function formatRecommendation(r: Recommendation): string {
  const out = ['', 'Bus and cross-region mode for this load (whole deployment; refused candidates last)'];
  for (const c of r.candidates) {
    const name = `${c.instanceType} × ${c.brokersPerAz}/AZ, ${c.crossRegion}`;
    if (c.refused.length > 0) {
      out.push(`  ${pad(name, 40)} ${pad('refused', 14, true)}   ${c.refused[0]}`);
      continue;
    }
    out.push(
      `  ${pad(name, 40)} ${pad(usd(c.usd ?? 0), 14, true)}   ${Math.ceil(c.partitionsPerBroker)} partition replicas per broker; each broker sends ${num(c.brokerEgressBytesPerSecond / 1e6)} MB/s`,
    );
  }
  out.push(
    r.best
      ? `  recommended: ${r.best.instanceType} × ${r.best.brokersPerAz} per AZ, crossRegion ${r.best.crossRegion}`
      : '  no candidate can run this load',
  );
  for (const n of r.notes) out.push(`  not covered: ${n}`);
  return out.join('\n') + '\n';
}
