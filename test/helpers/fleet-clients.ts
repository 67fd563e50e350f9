/**
 * Real clients (the SDK) of a fleet of gateway processes, for the fleet tests on either bus:
 * subscribers behind a balancer, a stream of numbered publishes, and the check that every client
 * got every acknowledged message exactly once.
 */
import { expect } from 'vitest';
import { WsgwClient } from '../../services/client/src/client.js';
import { publish, type FleetGateway } from './fleet.js';
import { waitFor } from './gateway.js';

export interface Subscriber {
  readonly client: WsgwClient;
  readonly seqs: number[];
  /** Outcomes of resubscriptions after reconnects: 'recovered:<missed>' or 'gap'. */
  readonly resubs: string[];
  /** Reconnect delays the client chose after each drop. */
  readonly delays: number[];
}

/** `n` SDK clients through the balancer at `url`, all subscribed to `ch`; `cleanups` closes them. */
export async function subscribers(
  n: number,
  url: string,
  ch: string,
  token: string,
  cleanups: Array<() => unknown>,
): Promise<Subscriber[]> {
  const subs: Subscriber[] = [];
  for (let i = 0; i < n; i += 100) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(100, n - i) }, async () => {
        const client = new WsgwClient({
          url,
          token,
          pingIntervalMs: 500,
          backoff: { baseMs: 250, maxMs: 2_000 },
          requestTimeoutMs: 15_000,
        });
        const s: Subscriber = { client, seqs: [], resubs: [], delays: [] };
        client.on('message', (m) => s.seqs.push((m.data as { seq: number }).seq));
        client.on('disconnected', (e) => {
          if (e.delayMs !== undefined) s.delays.push(e.delayMs);
        });
        client.on('resubscribed', (e) => s.resubs.push(e.recovered ? `recovered:${e.missed}` : 'gap'));
        cleanups.push(() => client.close());
        await client.connect();
        await client.subscribe(ch);
        return s;
      }),
    );
    subs.push(...batch);
  }
  return subs;
}

/** Publishes `count` messages through the given gateways, round robin; returns the acknowledged seqs. */
export async function publishStream(
  ports: () => number[],
  ch: string,
  count: number,
  onEach?: (i: number) => Promise<void> | void,
  from = 0,
): Promise<Set<number>> {
  const acked = new Set<number>();
  for (let i = from; i < from + count; i++) {
    await onEach?.(i);
    const live = ports();
    // Try every live gateway once; a message no gateway acknowledged is simply not expected.
    for (let t = 0; t < live.length; t++) {
      if (await publish(live[(i + t) % live.length]!, ch, { seq: i })) {
        acked.add(i);
        break;
      }
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  return acked;
}

/** Every subscriber got every acknowledged message, and no message twice. */
export async function expectExactlyOnce(
  fleet: readonly FleetGateway[],
  subs: Subscriber[],
  acked: Set<number>,
  attempted: number,
  timeoutMs = 60_000,
): Promise<void> {
  const missing = (s: Subscriber) => [...acked].filter((seq) => !s.seqs.includes(seq));
  try {
    await waitFor(
      () => subs.every((s) => missing(s).length === 0),
      timeoutMs,
      'every client to hold every acknowledged message',
    );
  } catch (err) {
    const bad = subs.filter((s) => missing(s).length > 0);
    const sample = bad
      .slice(0, 5)
      .map((s) => ({ missing: missing(s).slice(0, 10), resubs: s.resubs, state: s.client.state }));
    const logs = fleet.flatMap((g) =>
      g.proc.stdout
        .filter((l) => l.includes('recovery not possible'))
        .slice(0, 3)
        .map((l) => `${g.name}: ${l}`),
    );
    throw new Error(
      `${bad.length} of ${subs.length} clients miss messages: ${JSON.stringify(sample)}\n${logs.join('\n')}`,
      { cause: err },
    );
  }
  await new Promise((r) => setTimeout(r, 500)); // anything late would be a duplicate
  for (const s of subs) {
    expect(new Set(s.seqs).size).toBe(s.seqs.length);
    for (const seq of s.seqs) expect(seq).toBeLessThan(attempted);
  }
}
