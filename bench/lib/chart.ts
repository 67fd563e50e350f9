/**
 * The results chart (SVG, no dependencies): one band per summary row, one bar per server scaled to
 * the largest value in the band, the value printed at the bar's end. Bars compare servers within a
 * figure; bands are not comparable with each other.
 */
import type { Row } from './report.js';
import { KINDS, LABELS } from './report.js';
import type { TargetKind } from '../load/wire.js';

const COLORS: Readonly<Record<TargetKind, string>> = {
  gateway: '#2563eb',
  socketio: '#9ca3af',
  ws: '#f59e0b',
};
const W = 980;
const LABEL_W = 330;
const BAR_H = 12;
const BAND_GAP = 14;

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function short(v: number, unit: string): string {
  const n =
    v >= 1e6
      ? `${(v / 1e6).toPrecision(3)}M`
      : v >= 1e4
        ? `${(v / 1e3).toPrecision(3)}k`
        : `${Number(v.toPrecision(3))}`;
  return unit === 'B' ? `${n} B` : unit === 'ms' ? `${n} ms` : `${n}${unit}`;
}

export function svgChart(title: string, subtitle: string, rows: readonly Row[]): string {
  const bandH = KINDS.length * (BAR_H + 3) + BAND_GAP;
  const top = 70;
  const h = top + rows.length * bandH + 20;
  const barMax = W - LABEL_W - 110;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${h}" viewBox="0 0 ${W} ${h}" font-family="system-ui, sans-serif" font-size="11">`,
    `<rect width="${W}" height="${h}" fill="#fff"/>`,
    `<text x="12" y="22" font-size="15" font-weight="600">${esc(title)}</text>`,
    `<text x="12" y="40" fill="#555">${esc(subtitle)}</text>`,
  ];
  KINDS.forEach((k, i) => {
    const lx = 12 + i * 220;
    out.push(
      `<rect x="${lx}" y="50" width="10" height="10" fill="${COLORS[k]}"/><text x="${lx + 14}" y="59">${esc(LABELS[k])}</text>`,
    );
  });
  rows.forEach((r, ri) => {
    const y0 = top + ri * bandH;
    const max = Math.max(...KINDS.map((k) => r.values[k] ?? 0));
    out.push(`<text x="12" y="${y0 + 14}" font-weight="600">${esc(r.scenario)}</text>`);
    out.push(`<text x="12" y="${y0 + 28}" fill="#555">${esc(`${r.figure} (${r.better} is better)`)}</text>`);
    KINDS.forEach((k, i) => {
      const v = r.values[k];
      const y = y0 + i * (BAR_H + 3);
      const wBar = v === undefined || max <= 0 ? 0 : Math.max(1, (v / max) * barMax);
      out.push(
        `<rect x="${LABEL_W}" y="${y}" width="${wBar.toFixed(1)}" height="${BAR_H}" fill="${COLORS[k]}"/>`,
      );
      out.push(
        `<text x="${LABEL_W + wBar + 4}" y="${y + BAR_H - 2}">${v === undefined ? 'n/a' : esc(short(v, r.unit))}</text>`,
      );
    });
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
