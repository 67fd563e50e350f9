/**
 * Monthly cost against concurrent connections, as a self-contained SVG (log-log axes, no fonts or
 * scripts loaded from anywhere). The curves are computed by the same engine as the table: the load
 * profile is scaled with the connection count (messages per connection and fan-out stay the same;
 * a pinned publish rate keeps its ratio to connections).
 */
import { compareApiGateway } from './compare.js';
import { estimate } from './model.js';
import type { PriceBook } from './prices.js';
import type { Assumptions, CrossRegionMode, Deployment, Load } from './types.js';

export interface Series {
  readonly name: string;
  readonly values: readonly number[];
}

export interface Sweep {
  readonly connections: readonly number[];
  readonly series: readonly Series[];
}

/** Connection counts spaced evenly on a log scale, from `from` to `to` inclusive. */
export function logSpace(from: number, to: number, points: number): number[] {
  const a = Math.log10(from);
  const b = Math.log10(to);
  return Array.from({ length: points }, (_, i) => Math.round(10 ** (a + ((b - a) * i) / (points - 1))));
}

/** The default chart range around a load: two decades below to one above, on whole decades. */
export function defaultRange(connections: number): [number, number] {
  const lo = 10 ** Math.floor(Math.log10(Math.max(1_000, connections / 100)));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(10_000, connections * 10)));
  return [lo, hi];
}

/** Costs of the configured deployment and its alternatives over a range of connection counts. */
/** The load at `c` connections: the same per-connection profile; a pinned publish rate keeps its ratio. */
const scaled =
  (load: Load) =>
  (c: number): Load => ({
    ...load,
    connections: c,
    ...(load.publishRate !== undefined && load.connections > 0
      ? { publishRate: (load.publishRate * c) / load.connections }
      : {}),
  });

export function sweep(
  d: Deployment,
  load: Load,
  book: PriceBook,
  a: Assumptions,
  xs: readonly number[],
): Sweep {
  const at = scaled(load);
  const other: CrossRegionMode = d.crossRegion === 'replicator' ? 'direct' : 'replicator';
  const series: Series[] = [
    {
      name: `wsgw as configured (ALB, ${d.crossRegion})`,
      values: xs.map((c) => estimate(d, at(c), book, a).usd),
    },
  ];
  if (d.regions.length > 1) {
    series.push({
      name: `wsgw with crossRegion ${other}`,
      values: xs.map((c) => estimate({ ...d, crossRegion: other }, at(c), book, a).usd),
    });
  }
  series.push({
    name: 'wsgw with NLB passing TCP',
    values: xs.map((c) => estimate({ ...d, loadBalancer: 'nlb-tcp' }, at(c), book, a).usd),
  });
  series.push({
    name: 'API Gateway WebSocket APIs',
    values: xs.map((c) => compareApiGateway(estimate(d, at(c), book, a), book).usd),
  });
  return { connections: xs, series };
}

/** Several stacks as configured, and API Gateway for the same load (priced from the first stack's traffic). */
export function sweepStacks(
  stacks: readonly { deployment: Deployment; assumptions: Assumptions }[],
  load: Load,
  book: PriceBook,
  xs: readonly number[],
): Sweep {
  const at = scaled(load);
  const series: Series[] = stacks.map((s) => ({
    name: `wsgw ${s.deployment.stack} (${s.deployment.loadBalancer === 'nlb-tcp' ? 'NLB, TLS in the task' : 'ALB'}, ${s.deployment.crossRegion})`,
    values: xs.map((c) => estimate(s.deployment, at(c), book, s.assumptions).usd),
  }));
  const first = stacks[0]!;
  series.push({
    name: 'API Gateway WebSocket APIs',
    values: xs.map(
      (c) => compareApiGateway(estimate(first.deployment, at(c), book, first.assumptions), book).usd,
    ),
  });
  return { connections: xs, series };
}

const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd'];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** `1000` -> `1k`, `2500000` -> `2.5M`. */
export function shortNumber(n: number): string {
  const units: [number, string][] = [
    [1e9, 'B'],
    [1e6, 'M'],
    [1e3, 'k'],
  ];
  for (const [v, s] of units) if (n >= v) return `${+(n / v).toPrecision(3)}${s}`;
  return `${+n.toPrecision(3)}`;
}

/** Renders a sweep as an SVG document. */
export function renderSvg(
  s: Sweep,
  opts: { title: string; subtitle: string; marker?: number; capacity?: number },
): string {
  const W = 960;
  const H = 560;
  const m = { l: 80, r: 24, t: 70, b: 120 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const xs = s.connections;
  const all = s.series.flatMap((x) => x.values).filter((v) => v > 0);
  const x0 = Math.log10(xs[0] ?? 1);
  const x1 = Math.log10(xs[xs.length - 1] ?? 10);
  const y0 = Math.floor(Math.log10(Math.min(...all)));
  const y1 = Math.max(y0 + 1, Math.ceil(Math.log10(Math.max(...all))));
  const px = (c: number): number => m.l + ((Math.log10(c) - x0) / (x1 - x0 || 1)) * pw;
  const py = (v: number): number => m.t + ph - ((Math.log10(Math.max(v, 10 ** y0)) - y0) / (y1 - y0)) * ph;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
  );
  out.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(`<text x="${m.l}" y="28" font-size="18" font-weight="bold">${esc(opts.title)}</text>`);
  out.push(`<text x="${m.l}" y="48" fill="#555">${esc(opts.subtitle)}</text>`);
  // Grid and axes: a line per decade.
  for (let e = Math.ceil(x0); e <= Math.floor(x1); e++) {
    const x = px(10 ** e).toFixed(1);
    out.push(`<line x1="${x}" y1="${m.t}" x2="${x}" y2="${m.t + ph}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${x}" y="${m.t + ph + 18}" text-anchor="middle">${shortNumber(10 ** e)}</text>`);
  }
  for (let e = y0; e <= y1; e++) {
    const y = py(10 ** e).toFixed(1);
    out.push(`<line x1="${m.l}" y1="${y}" x2="${m.l + pw}" y2="${y}" stroke="#e5e5e5"/>`);
    out.push(
      `<text x="${m.l - 8}" y="${y}" text-anchor="end" dominant-baseline="middle">$${shortNumber(10 ** e)}</text>`,
    );
  }
  out.push(`<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`);
  out.push(
    `<text x="${m.l + pw / 2}" y="${m.t + ph + 40}" text-anchor="middle">concurrent connections (log scale)</text>`,
  );
  out.push(
    `<text transform="translate(18 ${m.t + ph / 2}) rotate(-90)" text-anchor="middle">USD per month (log scale)</text>`,
  );
  if (
    opts.marker !== undefined &&
    opts.marker > 0 &&
    Math.log10(opts.marker) >= x0 &&
    Math.log10(opts.marker) <= x1
  ) {
    const x = px(opts.marker).toFixed(1);
    out.push(`<line x1="${x}" y1="${m.t}" x2="${x}" y2="${m.t + ph}" stroke="#333" stroke-dasharray="4 4"/>`);
    out.push(
      `<text x="${x}" y="${m.t - 6}" text-anchor="middle" fill="#333">this load: ${shortNumber(opts.marker)}</text>`,
    );
  }
  if (
    opts.capacity !== undefined &&
    opts.capacity > 0 &&
    Math.log10(opts.capacity) >= x0 &&
    Math.log10(opts.capacity) <= x1
  ) {
    // Beyond this the regions run at maxTasks: the curves keep rising with traffic, but the
    // extra connections have no task to land on.
    const x = px(opts.capacity).toFixed(1);
    out.push(`<line x1="${x}" y1="${m.t}" x2="${x}" y2="${m.t + ph}" stroke="#b00" stroke-dasharray="2 3"/>`);
    out.push(
      `<text x="${x}" y="${m.t + 14}" text-anchor="end" dx="-4" fill="#b00">maxTasks capacity: ${shortNumber(opts.capacity)}</text>`,
    );
  }
  s.series.forEach((ser, i) => {
    const color = COLORS[i % COLORS.length] ?? '#000';
    const pts = ser.values.map((v, j) => `${px(xs[j] ?? 1).toFixed(1)},${py(v).toFixed(1)}`).join(' ');
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts}"/>`);
    const ly = m.t + ph + 62 + Math.floor(i / 2) * 20;
    const lx = m.l + (i % 2) * (pw / 2);
    out.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 24}" y2="${ly}" stroke="${color}" stroke-width="3"/>`);
    out.push(`<text x="${lx + 32}" y="${ly}" dominant-baseline="middle">${esc(ser.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
