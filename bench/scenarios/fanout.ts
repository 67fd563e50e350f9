/**
 * Fan-out and many-channel scenarios: a publisher at a paced rate, subscribers counting what
 * arrives. The rate is raised until delivery falls behind; the highest rate that kept up gives the
 * maximum deliveries per second and deliveries per server CPU-second, and a run at half of it gives
 * the latency percentiles.
 *
 * A step "keeps up" when every message reached every subscriber within the grace period after
 * publishing stopped, no subscriber was dropped, and latency did not grow during the step: an
 * overloaded server's queue grows for as long as the overload lasts, so messages published in the
 * second half of the step wait longer than those of the first half (by about the overload fraction
 * times half the window). The rule compares the two halves' medians, allowing
 * {@link GROWTH_SLACK_MS} plus half the early median for noise, and caps p99 at
 * {@link MAX_P99_MS}. An absolute latency bound alone would not do: one broadcast to 10k sockets
 * takes tens of milliseconds however idle the server is.
 */
import type { ClientPool } from '../load/pool.js';
import type { ChannelSpec } from '../load/protocol.js';
import { clock } from '../load/wire.js';
import type { Running } from '../servers/targets.js';
import { sumCpu } from '../lib/proc.js';
import { quiesce, sig, sleep } from '../lib/util.js';

/** Growth of the median latency from the first to the second half of a step still counted as noise. */
export const GROWTH_SLACK_MS = 25;
/** p99 above this means the step fell behind whatever the halves say. */
export const MAX_P99_MS = 1_000;
export const KEEP_UP_RULE =
  `a step keeps up when every message reaches every subscriber within the grace period, no subscriber is dropped, ` +
  `the median latency of messages published in the step's second half exceeds the first half's by at most ${GROWTH_SLACK_MS} ms + 50 %, ` +
  `and p99 <= ${MAX_P99_MS} ms`;

export interface FanoutConfig {
  /** Subscriber connections. */
  readonly connections: number;
  readonly channels: ChannelSpec;
  /** Channels the publisher picks from at random. */
  readonly publishTo: readonly string[];
  readonly size: number;
  /** Deliveries per second of the first step. */
  readonly startDeliveriesPerSec: number;
  readonly windowMs: number;
  readonly latencyWindowMs: number;
  /** Doubling steps at most, then bisection steps between the last good and first bad rate. */
  readonly maxSteps: number;
  readonly refineSteps: number;
}

export interface StepResult {
  readonly rate: number;
  readonly sent: number;
  readonly expected: number;
  readonly delivered: number;
  readonly keptUp: boolean;
  readonly deliveriesPerSec: number;
  readonly serverCpuSec: number;
  /** CPU of helper processes (Socket.IO's Redis), not counted in the server's figures. */
  readonly helperCpuSec: number;
  readonly deliveriesPerCpuSec: number;
  readonly clientCpuShare: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  /** Median latency of messages published in the first and the second half of the step. */
  readonly earlyP50Ms: number;
  readonly lateP50Ms: number;
  readonly note?: string;
}

export interface FanoutResult {
  readonly connected: number;
  readonly failed: number;
  readonly firstError?: string;
  /** Highest deliveries/s that kept up (0 if none did). */
  readonly maxDeliveriesPerSec: number;
  readonly maxRate: number;
  /** Deliveries per server CPU-second at the maximum. */
  readonly deliveriesPerCpuSec: number;
  /** The latency run at half the maximum rate. */
  readonly latency: StepResult | undefined;
  readonly steps: readonly StepResult[];
}

async function step(
  run: Running,
  subs: ClientPool,
  pub: ClientPool,
  cfg: FanoutConfig,
  subsPerChannel: Map<string, number>,
  rate: number,
  windowMs: number,
): Promise<StepResult> {
  const pids = run.serverPids();
  await subs.reset(clock() + windowMs / 2);
  const cpu0 = sumCpu(pids);
  const helperCpu0 = sumCpu(run.helperPids());
  const clientCpu0 = sumCpu(subs.pids);
  const t0 = clock();
  const p = await pub.publish(rate, windowMs, cfg.size, cfg.publishTo);
  let expected = 0;
  for (const [ch, n] of Object.entries(p.perChannel)) expected += n * (subsPerChannel.get(ch) ?? 0);
  // Grace: as long again as the window, at least 1 s; finished early once all arrived or nothing moves.
  const graceUntil = clock() + Math.max(1_000, windowMs);
  let stats = await subs.stats();
  let still = 0;
  while (stats.delivered < expected && clock() < graceUntil && still < 5) {
    await sleep(100);
    const next = await subs.stats();
    still = next.delivered === stats.delivered ? still + 1 : 0;
    stats = next;
  }
  const elapsed = (clock() - t0) / 1000;
  const cpu = sumCpu(pids) - cpu0;
  const clientCpu = sumCpu(subs.pids) - clientCpu0;
  const p99 = stats.latency.quantile(0.99);
  const earlyP50 = stats.early.quantile(0.5);
  const lateP50 = stats.late.quantile(0.5);
  const complete = stats.delivered >= expected;
  // With too few messages in a half to compare (very low rates), the growth test does not apply.
  const grew = stats.early.total > 0 && stats.late.total > 0 && lateP50 > earlyP50 * 1.5 + GROWTH_SLACK_MS;
  const keptUp = complete && stats.dropped === 0 && !grew && p99 <= MAX_P99_MS;
  const note = !complete
    ? `${expected - stats.delivered} of ${expected} not delivered in time`
    : stats.dropped > 0
      ? `${stats.dropped} subscribers dropped (${stats.lastDropReason})`
      : grew
        ? `latency grew: p50 ${sig(earlyP50)} -> ${sig(lateP50)} ms`
        : p99 > MAX_P99_MS
          ? `p99 ${sig(p99)} ms > ${MAX_P99_MS} ms`
          : undefined;
  return {
    rate: sig(rate),
    sent: p.sent,
    expected,
    delivered: stats.delivered,
    keptUp,
    deliveriesPerSec: sig(stats.delivered / (windowMs / 1000)),
    serverCpuSec: sig(cpu),
    helperCpuSec: sig(sumCpu(run.helperPids()) - helperCpu0),
    deliveriesPerCpuSec: sig(cpu > 0 ? stats.delivered / cpu : 0),
    // Client workers' CPU as a share of the machine's other core: near 1 means the load
    // generator, not the server, may have been the limit.
    clientCpuShare: sig(clientCpu / elapsed),
    p50Ms: sig(stats.latency.quantile(0.5)),
    p99Ms: sig(p99),
    p999Ms: sig(stats.latency.quantile(0.999)),
    earlyP50Ms: sig(earlyP50),
    lateP50Ms: sig(lateP50),
    ...(note ? { note } : {}),
  };
}

/**
 * One step at a given rate on fresh subscribers: latency at the same load for every server (the
 * rate is half of the slowest server's maximum, so every one of them keeps up).
 */
export async function runLatencyAt(
  run: Running,
  subs: ClientPool,
  pub: ClientPool,
  cfg: FanoutConfig,
  rate: number,
): Promise<StepResult | undefined> {
  const c = await subs.connect(run.target, cfg.connections, cfg.channels, {
    concurrency: 100,
    timeoutMs: 120_000,
  });
  const p = await pub.connect(run.target, 1, { kind: 'none' }, { concurrency: 1, timeoutMs: 10_000 });
  try {
    if (p.opened !== 1 || c.subscribed < cfg.connections) return undefined;
    await quiesce(run.serverPids());
    return await step(run, subs, pub, cfg, c.subsPerChannel, rate, cfg.latencyWindowMs);
  } finally {
    await Promise.all([subs.closeAll(), pub.closeAll()]);
    await quiesce(run.serverPids());
  }
}

export async function runFanout(
  run: Running,
  subs: ClientPool,
  pub: ClientPool,
  cfg: FanoutConfig,
  log: (s: string) => void,
): Promise<FanoutResult> {
  const c = await subs.connect(run.target, cfg.connections, cfg.channels, {
    concurrency: 100,
    timeoutMs: 120_000,
  });
  const p = await pub.connect(run.target, 1, { kind: 'none' }, { concurrency: 1, timeoutMs: 10_000 });
  const base = {
    connected: c.subscribed,
    failed: c.failed,
    ...(c.firstError ? { firstError: c.firstError } : {}),
  };
  try {
    if (p.opened !== 1 || c.subscribed < cfg.connections) {
      log(
        `  ${run.kind}: only ${c.subscribed}/${cfg.connections} subscribed (${c.firstError ?? p.firstError ?? 'unknown'})`,
      );
      return {
        ...base,
        maxDeliveriesPerSec: 0,
        maxRate: 0,
        deliveriesPerCpuSec: 0,
        latency: undefined,
        steps: [],
      };
    }
    await quiesce(run.serverPids());
    let fanout = 0;
    for (const ch of cfg.publishTo) fanout += c.subsPerChannel.get(ch) ?? 0;
    fanout /= cfg.publishTo.length;
    const steps: StepResult[] = [];
    const tryRate = async (rate: number) => {
      const s = await step(run, subs, pub, cfg, c.subsPerChannel, rate, cfg.windowMs);
      steps.push(s);
      log(
        `  ${run.kind}: ${s.rate} msg/s -> ${s.deliveriesPerSec} deliveries/s, ${s.deliveriesPerCpuSec}/cpu-s, ` +
          `p50 ${s.earlyP50Ms}->${s.lateP50Ms} ms, p99 ${s.p99Ms} ms, clients ${s.clientCpuShare} cpu${s.keptUp ? '' : ` FELL BEHIND (${s.note})`}`,
      );
      // Let a backlog left by a step that fell behind clear before the next one.
      if (!s.keptUp) await quiesce(run.serverPids());
      return s;
    };
    let rate = Math.max(1, cfg.startDeliveriesPerSec / fanout);
    let good: StepResult | undefined;
    let bad: StepResult | undefined;
    for (let i = 0; i < cfg.maxSteps && bad === undefined; i++) {
      const s = await tryRate(rate);
      if (s.keptUp) {
        good = s;
        rate *= 2;
      } else if (good === undefined && rate > 1) {
        rate = Math.max(1, rate / 4);
      } else {
        bad = s;
      }
    }
    for (let i = 0; i < cfg.refineSteps && good !== undefined && bad !== undefined; i++) {
      const s = await tryRate(Math.sqrt(good.rate * bad.rate));
      if (s.keptUp) good = s;
      else bad = s;
    }
    if (good === undefined)
      return {
        ...base,
        maxDeliveriesPerSec: 0,
        maxRate: 0,
        deliveriesPerCpuSec: 0,
        latency: undefined,
        steps,
      };
    await quiesce(run.serverPids());
    const latency = await step(run, subs, pub, cfg, c.subsPerChannel, good.rate / 2, cfg.latencyWindowMs);
    log(
      `  ${run.kind}: latency at ${latency.rate} msg/s: p50 ${latency.p50Ms} ms, p99 ${latency.p99Ms} ms, p99.9 ${latency.p999Ms} ms`,
    );
    return {
      ...base,
      maxDeliveriesPerSec: good.deliveriesPerSec,
      maxRate: good.rate,
      deliveriesPerCpuSec: good.deliveriesPerCpuSec,
      latency,
      steps,
    };
  } finally {
    await Promise.all([subs.closeAll(), pub.closeAll()]);
    await quiesce(run.serverPids());
  }
}
