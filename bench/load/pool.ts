/**
 * Driver side of the load generator: forks client workers, spreads connections over them and over
 * fresh loopback source addresses, and merges what they report.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Histogram } from '../lib/histogram.js';
import type { Shape } from './shapes.js';
import type {
  ChannelSpec,
  Command,
  ConnectReply,
  PingReply,
  PublishReply,
  Reply,
  StatsReply,
} from './protocol.js';
import { clock, type Target } from './wire.js';

const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));

/** Connections per source address: well under the ~28k ephemeral ports each address has. */
const PER_ADDRESS = 4_000;

/**
 * Hands out loopback source addresses 127.0.1.1, 127.0.1.2, … never reusing one within a run, so
 * that ports left in TIME_WAIT by an earlier phase never collide with a later one.
 */
class AddressPool {
  private n = 0;
  take(count: number): string[] {
    const out: string[] = [];
    for (let i = 0; i < count; i++) {
      const k = this.n++;
      const b = 1 + Math.floor(k / 254);
      if (b > 255) throw new Error('loopback source addresses exhausted');
      out.push(`127.0.${b}.${1 + (k % 254)}`);
    }
    return out;
  }
}

export const addresses = new AddressPool();

/** A command without its id (distributes over the union, unlike a plain Omit). */
type Request = Command extends infer C ? (C extends Command ? Omit<C, 'id'> : never) : never;

class Worker {
  private seq = 0;
  private readonly waiting = new Map<number, (r: Reply) => void>();

  constructor(readonly child: ChildProcess) {
    child.on('message', (r: Reply) => {
      const w = this.waiting.get(r.id);
      if (w !== undefined) {
        this.waiting.delete(r.id);
        w(r);
      }
    });
  }

  request<R extends Reply>(cmd: Request): Promise<R> {
    const id = ++this.seq;
    return new Promise<R>((resolve, reject) => {
      const onExit = (code: number | null) =>
        reject(new Error(`client worker exited (${code}) during ${cmd.type}`));
      this.child.once('exit', onExit);
      this.waiting.set(id, (r) => {
        this.child.off('exit', onExit);
        resolve(r as R);
      });
      this.child.send({ ...cmd, id } as Command);
    });
  }
}

export interface ConnectOutcome {
  readonly opened: number;
  readonly subscribed: number;
  readonly failed: number;
  readonly firstError: string | undefined;
  /** From the request to the last handshake / last subscription acknowledgement, ms. */
  readonly openMs: number;
  readonly subscribedMs: number;
  /** Connections holding each channel. */
  readonly subsPerChannel: Map<string, number>;
}

export interface Stats {
  readonly delivered: number;
  readonly deliveredBytes: number;
  /** All latencies, and those of messages published in the early / late part of a step. */
  readonly latency: Histogram;
  readonly early: Histogram;
  readonly late: Histogram;
  readonly dropped: number;
  readonly lastDropReason: string | undefined;
  readonly open: number;
  readonly serverPings: number;
}

/** A set of client worker processes. */
export class ClientPool {
  private constructor(private readonly workers: Worker[]) {}

  static async start(count: number): Promise<ClientPool> {
    const workers: Worker[] = [];
    for (let i = 0; i < count; i++) {
      const child = fork(WORKER, [], {
        execArgv: ['--import', 'tsx'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      workers.push(new Worker(child));
    }
    const pool = new ClientPool(workers);
    // A round trip proves each worker is up before any timing starts.
    await pool.reset();
    return pool;
  }

  get size(): number {
    return this.workers.length;
  }

  get pids(): number[] {
    return this.workers.map((w) => w.child.pid!);
  }

  private each<R>(fn: (w: Worker, i: number) => Promise<R>): Promise<R[]> {
    return Promise.all(this.workers.map(fn));
  }

  /**
   * Opens `count` connections spread evenly over the workers, each from its own source
   * addresses. `concurrency` is per worker; 0 starts them all at once.
   */
  async connect(
    target: Target,
    count: number,
    channels: ChannelSpec,
    opts: { concurrency: number; timeoutMs: number },
  ): Promise<ConnectOutcome> {
    const n = this.workers.length;
    const t0 = clock();
    const replies = await this.each((w, i) => {
      const share = Math.floor(count / n) + (i < count % n ? 1 : 0);
      return w.request<ConnectReply>({
        type: 'connect',
        target,
        count: share,
        addresses: addresses.take(Math.max(1, Math.ceil(share / PER_ADDRESS))),
        concurrency: opts.concurrency,
        channels,
        timeoutMs: opts.timeoutMs,
      });
    });
    const sum = (f: (r: ConnectReply) => number) => replies.reduce((a, r) => a + f(r), 0);
    const lastOpen = Math.max(t0, ...replies.map((r) => r.lastOpenAt));
    const lastSub = Math.max(t0, ...replies.map((r) => r.lastSubscribedAt));
    const subsPerChannel = new Map<string, number>();
    for (const r of replies)
      for (const [ch, k] of Object.entries(r.subsPerChannel))
        subsPerChannel.set(ch, (subsPerChannel.get(ch) ?? 0) + k);
    return {
      subsPerChannel,
      opened: sum((r) => r.opened),
      subscribed: sum((r) => r.subscribed),
      failed: sum((r) => r.failed),
      firstError: replies.find((r) => r.firstError !== undefined)?.firstError,
      openMs: lastOpen - t0,
      subscribedMs: lastSub - t0,
    };
  }

  /** Zeroes the workers' counters; `splitAt` (clock ms) divides early from late messages. */
  async reset(splitAt = 0): Promise<void> {
    await this.each((w) => w.request({ type: 'reset', splitAt }));
  }

  async stats(): Promise<Stats> {
    const replies = await this.each((w) => w.request<StatsReply>({ type: 'stats' }));
    const latency = new Histogram();
    const early = new Histogram();
    const late = new Histogram();
    for (const r of replies) {
      early.merge(Histogram.fromSparse(r.early).counts);
      late.merge(Histogram.fromSparse(r.late).counts);
    }
    latency.merge(early.counts);
    latency.merge(late.counts);
    return {
      delivered: replies.reduce((a, r) => a + r.delivered, 0),
      deliveredBytes: replies.reduce((a, r) => a + r.deliveredBytes, 0),
      latency,
      early,
      late,
      dropped: replies.reduce((a, r) => a + r.dropped, 0),
      lastDropReason: replies.find((r) => r.lastDropReason !== undefined)?.lastDropReason,
      open: replies.reduce((a, r) => a + r.open, 0),
      serverPings: replies.reduce((a, r) => a + r.serverPings, 0),
    };
  }

  /** Publishes from the first worker's first connection (use a pool of one as the publisher). */
  publish(
    rate: number,
    durationMs: number,
    size: number,
    channels: readonly string[],
    shape?: Shape,
  ): Promise<PublishReply> {
    return this.workers[0]!.request<PublishReply>({
      type: 'publish',
      rate,
      durationMs,
      size,
      channels,
      ...(shape === undefined ? {} : { shape }),
    });
  }

  /** SDK-style app-level pings from every open connection of every worker; totals sent and answered. */
  async ping(intervalMs: number, durationMs: number): Promise<{ sent: number; pongs: number }> {
    const replies = await this.each((w) => w.request<PingReply>({ type: 'ping', intervalMs, durationMs }));
    return { sent: replies.reduce((a, r) => a + r.sent, 0), pongs: replies.reduce((a, r) => a + r.pongs, 0) };
  }

  async closeAll(): Promise<void> {
    await this.each((w) => w.request({ type: 'close' }));
  }

  async stop(): Promise<void> {
    for (const w of this.workers) {
      w.child.disconnect();
    }
    await Promise.all(
      this.workers.map((w) =>
        w.child.exitCode !== null ? undefined : new Promise((r) => w.child.once('exit', r)),
      ),
    );
  }
}
