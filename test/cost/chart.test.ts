import { describe, expect, it } from 'vitest';
import { defaultRange, logSpace, renderSvg, shortNumber, sweep } from '../../cost/chart.js';
import { DEFAULT_ASSUMPTIONS, estimate } from '../../cost/model.js';
import type { Load } from '../../cost/types.js';
import { ONE_REGION, TWO_REGIONS, syntheticBook } from './fixtures.js';

const LOAD: Load = {
  connections: 100_000,
  msgRate: 0.1,
  msgBytes: 200,
  fanout: 100,
  crossRegionShare: 1,
  sessionMinutes: 60,
};

describe('chart', () => {
  it('spaces points evenly on a log scale', () => {
    expect(logSpace(1_000, 1_000_000, 4)).toEqual([1_000, 10_000, 100_000, 1_000_000]);
  });

  it('ranges two decades below and one above the load, on whole decades', () => {
    expect(defaultRange(250_000)).toEqual([1_000, 10_000_000]);
    expect(defaultRange(0)).toEqual([1_000, 10_000]);
  });

  it('abbreviates numbers', () => {
    expect([1_000, 2_500_000, 50, 10_000].map(shortNumber)).toEqual(['1k', '2.5M', '50', '10k']);
  });

  it('sweeps the configured deployment, the other cross-region mode, NLB TCP and API Gateway', () => {
    const xs = logSpace(1_000, 1_000_000, 7);
    const s = sweep(TWO_REGIONS, LOAD, syntheticBook(), DEFAULT_ASSUMPTIONS, xs);
    expect(s.series.map((x) => x.name)).toEqual([
      'wsgw as configured (ALB, replicator)',
      'wsgw with crossRegion direct',
      'wsgw with NLB passing TCP',
      'API Gateway WebSocket APIs',
    ]);
    // The first curve is the engine's own total at each point.
    expect(s.series[0]!.values[3]).toBeCloseTo(
      estimate(TWO_REGIONS, { ...LOAD, connections: xs[3]! }, syntheticBook()).usd,
      6,
    );
    for (const ser of s.series)
      expect(ser.values.every((v, i) => i === 0 || v >= ser.values[i - 1]! - 1e-9)).toBe(true);
  });

  it('keeps a pinned publish rate proportional to connections', () => {
    const s = sweep(
      ONE_REGION,
      { ...LOAD, publishRate: 50 },
      syntheticBook(['us-east-1']),
      DEFAULT_ASSUMPTIONS,
      [200_000],
    );
    expect(s.series[0]!.values[0]).toBeCloseTo(
      estimate(ONE_REGION, { ...LOAD, connections: 200_000, publishRate: 100 }, syntheticBook(['us-east-1']))
        .usd,
      6,
    );
  });

  it('renders a self-contained SVG with one polyline per series and the load marked', () => {
    const xs = logSpace(1_000, 1_000_000, 7);
    const svg = renderSvg(sweep(TWO_REGIONS, LOAD, syntheticBook(), DEFAULT_ASSUMPTIONS, xs), {
      title: 'T <1>',
      subtitle: 'S & s',
      marker: 100_000,
      capacity: 400_000,
    });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg.match(/<polyline /g)).toHaveLength(4);
    expect(svg).toContain('T &lt;1&gt;');
    expect(svg).toContain('S &amp; s');
    expect(svg).toContain('this load: 100k');
    expect(svg).toContain('maxTasks capacity: 400k');
    expect(svg).not.toMatch(/NaN|Infinity|href=|<script/);
  });
});
