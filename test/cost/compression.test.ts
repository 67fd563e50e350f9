/**
 * permessage-deflate in the cost model: payloads at or above the gateway's threshold cross the
 * client link compressed by the measured ratio (both directions), smaller ones as they are; the
 * report says what that saves, and the CLI takes the ratio.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildReport } from '../../cost/compare.js';
import { main } from '../../cost/cli.js';
import {
  DEFAULT_LOAD,
  MEASURED_COMPRESSION_RATIO,
  estimate,
  regionTraffic,
  resolveLoad,
} from '../../cost/model.js';
import type { Load } from '../../cost/types.js';
import { ASSUMPTIONS, ONE_REGION, syntheticBook } from './fixtures.js';

const LOAD: Load = {
  connections: 100_000,
  msgRate: 0.1,
  msgBytes: 1024,
  publishRate: 100,
  fanout: 100,
  crossRegionShare: 1,
  sessionMinutes: 60,
};
const book = syntheticBook(['us-east-1']);

describe('compression in the traffic model', () => {
  it('scales the payload bytes of deliveries and publishes by the ratio, not the overhead', () => {
    const at = (compressionRatio: number, msgBytes = 1024) =>
      regionTraffic(
        resolveLoad({ ...LOAD, msgBytes, compressionRatio }, ONE_REGION),
        'us-east-1',
        ASSUMPTIONS,
      );
    const plain = at(1);
    const half = at(0.5);
    const deliveries = 100_000 * 0.1;
    expect(plain.bytesOutPerSecond - half.bytesOutPerSecond).toBeCloseTo(deliveries * 512, 6);
    expect(plain.bytesInPerSecond - half.bytesInPerSecond).toBeCloseTo(100 * 512, 6);
    // Kafka carries the envelope's payload as published: no client compression there.
    expect(half.kafkaBytesPerSecond).toBe(plain.kafkaBytesPerSecond);
  });

  it('leaves payloads below the 512-byte threshold uncompressed', () => {
    const t = (compressionRatio: number) =>
      regionTraffic(
        resolveLoad({ ...LOAD, msgBytes: 511, compressionRatio }, ONE_REGION),
        'us-east-1',
        ASSUMPTIONS,
      );
    expect(t(0.3)).toEqual(t(1));
    const at512 = (r: number) =>
      regionTraffic(
        resolveLoad({ ...LOAD, msgBytes: 512, compressionRatio: r }, ONE_REGION),
        'us-east-1',
        ASSUMPTIONS,
      );
    expect(at512(0.5).bytesOutPerSecond).toBeLessThan(at512(1).bytesOutPerSecond);
  });

  it('defaults to the measured ratio and refuses ratios outside (0, 1]', () => {
    expect(resolveLoad(LOAD, ONE_REGION).compressionRatio).toBe(MEASURED_COMPRESSION_RATIO);
    expect(DEFAULT_LOAD.compressionRatio).toBe(MEASURED_COMPRESSION_RATIO);
    for (const bad of [0, -0.1, 1.01, Number.NaN, Number.POSITIVE_INFINITY])
      expect(() => resolveLoad({ ...LOAD, compressionRatio: bad }, ONE_REGION)).toThrow(
        /load\.compressionRatio/,
      );
  });
});

describe('compression savings in the report', () => {
  it('is the difference to the same load uncompressed, and nothing below the threshold', () => {
    const r = buildReport(ONE_REGION, { ...LOAD, compressionRatio: 0.4 }, book, ASSUMPTIONS);
    const plain = estimate(ONE_REGION, { ...LOAD, compressionRatio: 1 }, book, ASSUMPTIONS);
    expect(r.compression.applies).toBe(true);
    expect(r.compression.usdSaved).toBeCloseTo(plain.usd - r.estimate.usd, 6);
    expect(r.compression.usdSaved).toBeGreaterThan(0);
    expect(r.compression.internetOutGb).toBeLessThan(r.compression.internetOutGbUncompressed);
    const small = buildReport(
      ONE_REGION,
      { ...LOAD, msgBytes: 256, compressionRatio: 0.4 },
      book,
      ASSUMPTIONS,
    );
    expect(small.compression.applies).toBe(false);
    expect(small.compression.usdSaved).toBe(0);
  });

  it('saves more the better the payload compresses', () => {
    const saved = (r: number) =>
      buildReport(ONE_REGION, { ...LOAD, compressionRatio: r }, book, ASSUMPTIONS).compression.usdSaved;
    expect(saved(0.25)).toBeGreaterThan(saved(0.45));
    expect(saved(0.45)).toBeGreaterThan(saved(0.9));
    expect(saved(1)).toBe(0);
  });
});

describe('npm run cost -- --compression-ratio', () => {
  const STACK = `config:
  aws:region: us-east-1
  wsgw:domain: ws.example.com
  wsgw:cloudflareZoneId: 0123456789abcdef0123456789abcdef
  wsgw:jwtSecret:
    secure: AAABAGZha2U=
  wsgw:connectionsPerTask: 20000
  wsgw:task: { cpu: 1024, memory: 2048 }
  wsgw:network: { nat: single, azCount: 3 }
  wsgw:msk: { instanceType: kafka.m7g.large, brokersPerAz: 1, volumeGiB: 200, retentionHours: 12, crossRegion: replicator }
  wsgw:homeRegion: us-east-1
  wsgw:regions:
    - { name: us-east-1, cidr: 10.16.0.0/16, minTasks: 2, maxTasks: 40 }
`;
  const run = (argv: string[]) => {
    const dir = mkdtempSync(join(tmpdir(), 'wsgw-cost-'));
    writeFileSync(join(dir, 'Pulumi.t.yaml'), STACK);
    let out = '';
    let err = '';
    const code = main(argv, { cwd: dir, out: (s) => (out += s), err: (s) => (err += s) });
    return { code, out, err };
  };

  it('takes the ratio, prints the saving, and refuses a bad one naming the flag', () => {
    const a = run(['t', '--connections', '1M', '--msg-bytes', '1024', '--compression-ratio', '0.3']);
    expect(a.code).toBe(0);
    expect(a.out).toMatch(
      /Compression \(permessage-deflate, ratio 0\.3\): internet out .* GB instead of .* GB per month; saves \$/,
    );
    const json = (argv: string[]) =>
      JSON.parse(run([...argv, '--json']).out) as { compression: { usdSaved: number } };
    const better = json(['t', '--connections', '1M', '--msg-bytes', '1024', '--compression-ratio', '0.3']);
    const worse = json(['t', '--connections', '1M', '--msg-bytes', '1024', '--compression-ratio', '0.6']);
    expect(better.compression.usdSaved).toBeGreaterThan(worse.compression.usdSaved);
    expect(run(['t', '--msg-bytes', '256']).out).toMatch(/Compression: none \(256 B payloads are below/);
    const bad = run(['t', '--compression-ratio', 'lots']);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('--compression-ratio');
    expect(run(['t', '--compression-ratio', '2']).err).toContain('load.compressionRatio');
  });
});
