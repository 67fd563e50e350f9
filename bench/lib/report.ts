/**
 * The summary: one row per figure with the gateway's value, each peer's, and the gateway's
 * advantage over each peer, printed as a Markdown table (what docs/benchmarks.md quotes).
 *
 * Advantage is a ratio oriented so that above 1 always favours the gateway: gateway ÷ peer for
 * figures where higher is better (throughput), peer ÷ gateway where lower is better (memory, time,
 * latency).
 */
import type { TargetKind } from '../load/wire.js';
import { sig } from './util.js';

export const KINDS: readonly TargetKind[] = ['gateway', 'socketio', 'ws'];
export const LABELS: Readonly<Record<TargetKind, string>> = {
  gateway: 'wsgw',
  socketio: 'Socket.IO + Redis adapter',
  ws: 'plain ws loop',
};

export interface Row {
  readonly scenario: string;
  readonly figure: string;
  readonly unit: string;
  readonly better: 'higher' | 'lower';
  readonly values: Partial<Record<TargetKind, number>>;
  /** Gateway's advantage over each peer (see module comment). */
  readonly advantage: Partial<Record<'socketio' | 'ws', number>>;
}

export function row(
  scenario: string,
  figure: string,
  unit: string,
  better: 'higher' | 'lower',
  values: Partial<Record<TargetKind, number | undefined>>,
): Row {
  const clean: Partial<Record<TargetKind, number>> = {};
  for (const k of KINDS) {
    const v = values[k];
    if (v !== undefined && Number.isFinite(v)) clean[k] = v;
  }
  const advantage: Partial<Record<'socketio' | 'ws', number>> = {};
  const g = clean.gateway;
  for (const peer of ['socketio', 'ws'] as const) {
    const p = clean[peer];
    if (g === undefined || p === undefined || g <= 0 || p <= 0) continue;
    advantage[peer] = sig(better === 'higher' ? g / p : p / g);
  }
  return { scenario, figure, unit, better, values: clean, advantage };
}

function fmt(v: number | undefined, unit: string): string {
  if (v === undefined) return 'n/a';
  if (unit === 'B') return v >= 10_240 ? `${sig(v / 1024)} KiB` : `${Math.round(v)} B`;
  if (unit === 'ms') return `${sig(v)} ms`;
  if (unit === '/s' || unit === '/cpu-s')
    return `${v >= 1e6 ? `${sig(v / 1e6)}M` : v >= 1e3 ? `${sig(v / 1e3)}k` : sig(v)}${unit}`;
  return `${sig(v)} ${unit}`;
}

const x = (v: number | undefined) => (v === undefined ? 'n/a' : `${v}×`);

export function markdownTable(rows: readonly Row[]): string {
  const head = [
    'Scenario',
    'Figure',
    LABELS.gateway,
    LABELS.socketio,
    LABELS.ws,
    'wsgw vs Socket.IO',
    'wsgw vs ws',
  ];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i < 2 ? '---' : '---:')).join('|')}|`];
  for (const r of rows) {
    lines.push(
      `| ${r.scenario} | ${r.figure} (${r.better} is better) | ${fmt(r.values.gateway, r.unit)} | ${fmt(r.values.socketio, r.unit)} | ${fmt(r.values.ws, r.unit)} | ${x(r.advantage.socketio)} | ${x(r.advantage.ws)} |`,
    );
  }
  return lines.join('\n');
}
