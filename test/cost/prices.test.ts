import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { estimate } from '../../cost/model.js';
import {
  DEFAULT_PRICES_DIR,
  loadPriceBook,
  parsePriceFile,
  price,
  pricedRegions,
  tiered,
  tieredCost,
} from '../../cost/prices.js';
import type { Deployment, Load } from '../../cost/types.js';
import { ONE_REGION, syntheticBook, syntheticGlobal, syntheticRegion } from './fixtures.js';

const LOAD: Load = {
  connections: 50_000,
  msgRate: 0.1,
  msgBytes: 200,
  fanout: 100,
  crossRegionShare: 1,
  sessionMinutes: 60,
};

describe('shipped price files', () => {
  const book = loadPriceBook();
  const regions = pricedRegions(book);

  it('cover the regions the example stacks use and a handful of common ones', () => {
    for (const r of [
      'us-east-1',
      'us-east-2',
      'us-west-2',
      'eu-west-1',
      'eu-central-1',
      'ap-southeast-1',
      'ap-northeast-1',
    ]) {
      expect(regions).toContain(r);
    }
  });

  it('are dated, versioned, state that they are list prices to check, and name a source per price', () => {
    for (const f of book.files.values()) {
      expect(f.asOf).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(f.version).not.toBe('');
      expect(f.notice).toMatch(/list prices as of \d{4}-\d{2}-\d{2}/);
      expect(f.notice).toMatch(/check/);
      for (const [key, p] of Object.entries(f.prices))
        expect(p.source, `${f.file} ${key}`).toMatch(/^https:\/\/(docs\.)?aws\.amazon\.com\//);
    }
  });

  it('all share one version, and each is dated (the output prints every date it used)', () => {
    expect(new Set([...book.files.values()].map((f) => f.version)).size).toBe(1);
    // The regional files as of one date; global.json as of the launch of ACM exportable certificates.
    expect(
      new Set([...book.files.values()].filter((f) => f.region !== 'global').map((f) => f.asOf)).size,
    ).toBe(1);
    expect(book.files.get('global')?.asOf).toBe('2025-06-17');
  });

  it('price every line of every mode in every region', () => {
    for (const region of regions) {
      for (const crossRegion of ['replicator', 'direct'] as const) {
        for (const nat of ['per-az', 'single', 'none'] as const) {
          for (const loadBalancer of ['alb', 'nlb-tls', 'nlb-tcp'] as const) {
            for (const instanceType of [
              'kafka.m5.large',
              'kafka.m7g.large',
              'kafka.m7g.xlarge',
              'kafka.t3.small',
            ]) {
              const d: Deployment = {
                ...ONE_REGION,
                regions: [
                  { name: region, minTasks: 1, maxTasks: 10 },
                  { name: regions.find((r) => r !== region)!, minTasks: 1, maxTasks: 10 },
                ],
                crossRegion,
                nat,
                loadBalancer,
                msk: { kind: 'provisioned', brokers: 3, instanceType, storageGiB: 100 },
              };
              expect(estimate(d, LOAD, book).usd).toBeGreaterThan(0);
            }
          }
        }
      }
      for (const arch of ['arm64', 'x86_64'] as const) {
        const d: Deployment = {
          ...ONE_REGION,
          regions: [{ name: region, minTasks: 1, maxTasks: 10 }],
          task: { vcpu: 1, memoryGiB: 2, arch },
          msk: { kind: 'serverless', partitions: 24 },
        };
        expect(estimate(d, LOAD, book).usd).toBeGreaterThan(0);
      }
    }
  });

  it('are named after their region', () => {
    for (const name of readdirSync(DEFAULT_PRICES_DIR).filter((n) => n.endsWith('.json'))) {
      expect(JSON.parse(readFileSync(join(DEFAULT_PRICES_DIR, name), 'utf8')).region + '.json').toBe(name);
    }
  });
});

describe('tieredCost', () => {
  const p = {
    unit: 'GB',
    source: 'https://example.com',
    tiers: [
      { upTo: 10, usd: 1 },
      { upTo: 50, usd: 0.5 },
      { upTo: null, usd: 0.25 },
    ],
  };
  it('charges each slice of the quantity at its tier', () => {
    expect(tieredCost(p, 0)).toBe(0);
    expect(tieredCost(p, 4)).toBe(4);
    expect(tieredCost(p, 10)).toBe(10);
    expect(tieredCost(p, 30)).toBe(10 + 20 * 0.5);
    expect(tieredCost(p, 150)).toBe(10 + 40 * 0.5 + 100 * 0.25);
  });
  it('treats a flat price as one unbounded tier', () => {
    expect(tieredCost(tiered(syntheticBook(['us-east-1']), 'us-east-1', 'alb.hour'), 100)).toBeCloseTo(2, 9);
  });
});

describe('errors', () => {
  it('name a missing price and the file it should be in', () => {
    const book = syntheticBook(['us-east-1']);
    expect(() => price(book, 'us-east-1', 'nope.key')).toThrow(
      expect.objectContaining({
        code: 'WSGW_COST_MISSING_PRICE',
        message: 'price "nope.key" is missing in us-east-1.json',
      }),
    );
  });

  it('a price file without a line the engine needs fails the estimate naming that line', async () => {
    const { priceBookOf } = await import('../../cost/prices.js');
    const book = priceBookOf([syntheticGlobal(), syntheticRegion('us-east-1', {}, ['nat.hour'])]);
    expect(() => estimate(ONE_REGION, LOAD, book)).toThrow('price "nat.hour" is missing in us-east-1.json');
  });

  it('name the field of an invalid price file', () => {
    expect(() => parsePriceFile({ schemaVersion: 1 }, 'x.json')).toThrow(
      expect.objectContaining({
        code: 'WSGW_COST_BAD_PRICE_FILE',
        message: expect.stringMatching(/^x\.json: invalid price file at version/),
      }),
    );
    const f = syntheticRegion('us-east-1');
    const raw = {
      ...f,
      prices: { ...f.prices, 'alb.hour': { usd: -1, unit: 'h', source: 'https://example.com' } },
    };
    expect(() => parsePriceFile(raw, 'us-east-1.json')).toThrow(
      /us-east-1\.json: invalid price file at prices\.alb\.hour/,
    );
    const noDate = { ...f, asOf: 'June' };
    expect(() => parsePriceFile(noDate, 'us-east-1.json')).toThrow(/asOf must be a date YYYY-MM-DD/);
  });

  it('reject a file named after another region', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wsgw-prices-'));
    writeFileSync(join(dir, 'eu-west-1.json'), JSON.stringify(syntheticRegion('us-east-1')));
    expect(() => loadPriceBook(dir)).toThrow(
      /eu-west-1\.json: "region" is us-east-1; the file must be named us-east-1\.json/,
    );
  });

  it('reject a file that is not JSON', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wsgw-prices-'));
    writeFileSync(join(dir, 'us-east-1.json'), '{ nope');
    expect(() => loadPriceBook(dir)).toThrow(
      expect.objectContaining({
        code: 'WSGW_COST_BAD_PRICE_FILE',
        message: expect.stringMatching(/^us-east-1\.json: not valid JSON/),
      }),
    );
  });
});
