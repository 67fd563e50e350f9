/**
 * Compression: bytes on the wire per delivery and server CPU per delivery for realistic JSON
 * payloads (shapes.ts), with subscribers that negotiated permessage-deflate and, for the gateway,
 * with subscribers that did not.
 *
 * The subscribers connect once per server and variant; then, per payload shape and size, a fixed
 * number of messages is published at a rate every server keeps up with for the gateway (a server
 * that compresses per socket may take longer: the step waits until everything arrived) and the
 * server's CPU over the step is divided by the deliveries. Clients do not inflate: they count
 * frames and bytes, the same work for every server.
 */
import type { ClientPool } from '../load/pool.js';
import { clock, type Target } from '../load/wire.js';
import type { Shape } from '../load/shapes.js';
import type { Running } from '../servers/targets.js';
import { sumCpu } from '../lib/proc.js';
import { quiesce, sig, sleep } from '../lib/util.js';

export interface CompressionConfig {
  readonly subscribers: readonly number[];
  readonly sizes: readonly number[];
  readonly shapes: readonly Shape[];
  /** Messages per step, by subscriber count (fewer for more subscribers: per-socket deflate is slow). */
  readonly messages: (subscribers: number) => number;
  /** Publish rate, messages per second. */
  readonly rate: number;
  /** Longest wait for a step's deliveries. */
  readonly graceMs: number;
}

export interface CompressionStep {
  readonly shape: Shape;
  readonly size: number;
  readonly sent: number;
  readonly expected: number;
  readonly delivered: number;
  readonly bytesPerDelivery: number;
  readonly cpuUsPerDelivery: number;
  readonly serverCpuSec: number;
  readonly note?: string;
}

export interface CompressionRun {
  readonly subscribers: number;
  readonly connected: number;
  readonly firstError?: string;
  readonly steps: readonly CompressionStep[];
}

export async function runCompression(
  run: Running,
  target: Target,
  subs: ClientPool,
  pub: ClientPool,
  cfg: CompressionConfig,
  subscribers: number,
  log: (s: string) => void,
): Promise<CompressionRun> {
  const ch = 'z';
  const c = await subs.connect(
    target,
    subscribers,
    { kind: 'one', ch },
    { concurrency: 100, timeoutMs: 180_000 },
  );
  // The publisher never compresses: inbound inflating is not what this measures.
  const p = await pub.connect(
    { ...target, deflate: false },
    1,
    { kind: 'none' },
    { concurrency: 1, timeoutMs: 10_000 },
  );
  const steps: CompressionStep[] = [];
  try {
    if (p.opened !== 1 || c.subscribed < subscribers) {
      log(`  only ${c.subscribed}/${subscribers} subscribed (${c.firstError ?? p.firstError ?? 'unknown'})`);
      return {
        subscribers,
        connected: c.subscribed,
        ...(c.firstError ? { firstError: c.firstError } : {}),
        steps,
      };
    }
    for (const size of cfg.sizes) {
      for (const shape of cfg.shapes) {
        await quiesce(run.serverPids());
        await subs.reset(clock());
        const pids = run.serverPids();
        const cpu0 = sumCpu(pids);
        const n = cfg.messages(subscribers);
        const sent = await pub.publish(cfg.rate, (n / cfg.rate) * 1000, size, [ch], shape);
        const expected = sent.sent * subscribers;
        const until = clock() + cfg.graceMs;
        let stats = await subs.stats();
        while (stats.delivered < expected && clock() < until && stats.dropped === 0) {
          await sleep(50);
          stats = await subs.stats();
        }
        const cpu = sumCpu(pids) - cpu0;
        const d = Math.max(1, stats.delivered);
        const note =
          stats.delivered < expected
            ? `${expected - stats.delivered} of ${expected} not delivered${stats.dropped ? ` (${stats.dropped} dropped: ${stats.lastDropReason})` : ''}`
            : undefined;
        const s: CompressionStep = {
          shape,
          size,
          sent: sent.sent,
          expected,
          delivered: stats.delivered,
          bytesPerDelivery: sig(stats.deliveredBytes / d),
          cpuUsPerDelivery: sig((cpu * 1e6) / d),
          serverCpuSec: sig(cpu),
          ...(note ? { note } : {}),
        };
        steps.push(s);
        log(
          `  ${shape} ${size} B: ${s.bytesPerDelivery} B/delivery, ${s.cpuUsPerDelivery} µs CPU/delivery (${s.delivered}/${expected})${note ? ` ${note}` : ''}`,
        );
      }
    }
    return { subscribers, connected: c.subscribed, steps };
  } finally {
    await Promise.all([subs.closeAll(), pub.closeAll()]);
    await quiesce(run.serverPids());
  }
}

/** The servers compared: the gateway with and without the extension, and the peers with it. */
export const COMPRESSION_VARIANTS = [
  { id: 'wsgw-deflate', kind: 'gateway', deflate: true, label: 'wsgw, permessage-deflate' },
  { id: 'wsgw-plain', kind: 'gateway', deflate: false, label: 'wsgw, uncompressed' },
  { id: 'socketio-deflate', kind: 'socketio', deflate: true, label: 'Socket.IO, perMessageDeflate' },
  { id: 'ws-deflate', kind: 'ws', deflate: true, label: 'plain ws, perMessageDeflate' },
] as const;
export type CompressionVariant = (typeof COMPRESSION_VARIANTS)[number]['id'];

export interface CompressionResult {
  runs: Array<{ variant: CompressionVariant } & CompressionRun>;
}

/** One row per subscriber count, shape and size: each variant's bytes and CPU per delivery, and the ratios. */
export function compressionMarkdown(r: CompressionResult): string {
  const find = (v: CompressionVariant, subs: number, shape: Shape, size: number) =>
    r.runs
      .find((x) => x.variant === v && x.subscribers === subs)
      ?.steps.find((s) => s.shape === shape && s.size === size && s.delivered > 0);
  const keys = new Map<string, { subs: number; shape: Shape; size: number }>();
  for (const run of r.runs)
    for (const s of run.steps)
      keys.set(`${run.subscribers}/${s.size}/${s.shape}`, {
        subs: run.subscribers,
        shape: s.shape,
        size: s.size,
      });
  let partial = false;
  const f = (x: number | undefined, s?: CompressionStep) => {
    if (x === undefined) return 'n/a';
    const mark = s !== undefined && s.delivered < s.expected;
    partial ||= mark;
    return x.toLocaleString('en-US') + (mark ? '*' : '');
  };
  const ratio = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined || b === 0 ? 'n/a' : `${sig(a / b)}×`;
  const lines = [
    '| subscribers | payload | bytes/delivery: wsgw deflate / wsgw plain / Socket.IO / ws | CPU µs/delivery: wsgw deflate / wsgw plain / Socket.IO / ws | wsgw deflate ÷ plain CPU | Socket.IO ÷ wsgw CPU | ws ÷ wsgw CPU | wsgw ÷ ws bytes |',
    '|---:|---|---|---|---:|---:|---:|---:|',
  ];
  for (const { subs, shape, size } of keys.values()) {
    const [d, p, io, w] = COMPRESSION_VARIANTS.map((v) => find(v.id, subs, shape, size));
    lines.push(
      `| ${subs.toLocaleString('en-US')} | ${shape}, ${size} B | ${[d, p, io, w].map((x) => f(x?.bytesPerDelivery, x)).join(' / ')} | ` +
        `${[d, p, io, w].map((x) => f(x?.cpuUsPerDelivery, x)).join(' / ')} | ${ratio(d?.cpuUsPerDelivery, p?.cpuUsPerDelivery)} | ` +
        `${ratio(io?.cpuUsPerDelivery, d?.cpuUsPerDelivery)} | ${ratio(w?.cpuUsPerDelivery, d?.cpuUsPerDelivery)} | ` +
        `${ratio(d?.bytesPerDelivery, w?.bytesPerDelivery)} |`,
    );
  }
  if (partial)
    lines.push(
      '',
      '\\* not every delivery arrived within the grace period (the server dropped subscribers); per delivery of those that did.',
    );
  return lines.join('\n') + '\n';
}
