/**
 * A client worker process: holds a share of the benchmark's connections and does what the driver
 * asks over IPC (see protocol.ts). Several run side by side so that neither one core nor one
 * process's open-file limit caps the load.
 */
import { Histogram } from '../lib/histogram.js';
import type {
  ChannelSpec,
  Command,
  ConnectReply,
  PingReply,
  PublishReply,
  Reply,
  StatsReply,
} from './protocol.js';
import { WireClient, clock, payloadFor, pingFrame, pubFrame, type ClientEvents } from './wire.js';
import { shapedBody, stampPayload } from './shapes.js';

const clients = new Set<WireClient>();
let early = new Histogram();
let late = new Histogram();
let splitAt = 0;
let delivered = 0;
let deliveredBytes = 0;
let dropped = 0;
let lastDropReason: string | undefined;
let pongs = 0;
let serverPings = 0;

/** The connect command in progress, if any. */
let batch:
  | {
      readonly cmd: Extract<Command, { type: 'connect' }>;
      next: number;
      inFlight: number;
      opened: number;
      subscribed: number;
      failed: number;
      firstError: string | undefined;
      lastOpenAt: number;
      lastSubscribedAt: number;
      timer: NodeJS.Timeout;
      subsPerChannel: Record<string, number>;
    }
  | undefined;

const events: ClientEvents = {
  open(c) {
    if (batch !== undefined) {
      batch.opened++;
      batch.inFlight--;
      batch.lastOpenAt = clock();
    }
    if (c.channels.length > 0) c.subscribe();
    else settle();
    startMore();
  },
  subscribed() {
    if (batch !== undefined) {
      batch.subscribed++;
      batch.lastSubscribedAt = clock();
    }
    settle();
  },
  pong() {
    pongs++;
  },
  ping() {
    serverPings++;
  },
  message(_c, sentAt, ms, frameBytes) {
    delivered++;
    deliveredBytes += frameBytes;
    if (!Number.isNaN(ms)) (sentAt < splitAt ? early : late).record(ms);
  },
  closed(c, opened, reason) {
    clients.delete(c);
    if (opened) {
      dropped++;
      lastDropReason = reason;
      return;
    }
    if (batch !== undefined) {
      batch.failed++;
      batch.inFlight--;
      batch.firstError ??= reason;
      settle();
      startMore();
    }
  },
};

function channelsFor(spec: ChannelSpec): string[] {
  switch (spec.kind) {
    case 'none':
      return [];
    case 'one':
      return [spec.ch];
    case 'random': {
      const picked = new Set<string>();
      while (picked.size < Math.min(spec.per, spec.count))
        picked.add(`${spec.prefix}${Math.floor(Math.random() * spec.count)}`);
      return [...picked];
    }
  }
}

function startMore(): void {
  const b = batch;
  if (b === undefined) return;
  const { cmd } = b;
  const limit = cmd.concurrency === 0 ? cmd.count : cmd.concurrency;
  while (b.next < cmd.count && b.inFlight < limit) {
    const address = cmd.addresses[b.next % cmd.addresses.length]!;
    const chs = channelsFor(cmd.channels);
    for (const ch of chs) b.subsPerChannel[ch] = (b.subsPerChannel[ch] ?? 0) + 1;
    clients.add(new WireClient(cmd.target, address, chs, events));
    b.next++;
    b.inFlight++;
  }
}

function settle(): void {
  const b = batch;
  if (b === undefined) return;
  const needsSub = b.cmd.channels.kind !== 'none';
  if (b.failed + (needsSub ? b.subscribed : b.opened) >= b.cmd.count) finishBatch();
}

function finishBatch(): void {
  const b = batch;
  if (b === undefined) return;
  batch = undefined;
  clearTimeout(b.timer);
  const r: ConnectReply = {
    type: 'connect',
    id: b.cmd.id,
    opened: b.opened,
    subscribed: b.subscribed,
    failed: b.failed + (b.cmd.count - b.next),
    firstError: b.firstError ?? (b.next < b.cmd.count || b.inFlight > 0 ? 'timed out' : undefined),
    lastOpenAt: b.lastOpenAt,
    lastSubscribedAt: b.lastSubscribedAt,
    subsPerChannel: b.subsPerChannel,
  };
  reply(r);
}

async function publish(cmd: Extract<Command, { type: 'publish' }>): Promise<void> {
  const pub = clients.values().next().value as WireClient | undefined;
  if (pub === undefined) throw new Error('publish: this worker holds no connection');
  const kind = pub.target.kind;
  const start = performance.now();
  let sent = 0;
  let maxBacklog = 0;
  const perChannel: Record<string, number> = {};
  // Built before the clock starts: the same sequence for every server, at no cost while publishing.
  const bodies =
    cmd.shape === undefined
      ? []
      : Array.from({ length: Math.min(256, Math.ceil((cmd.durationMs / 1000) * cmd.rate) + 1) }, (_, i) =>
          shapedBody(cmd.shape!, cmd.size, i),
        );
  const shaped = (i: number): string => bodies[i % bodies.length]!;
  // Paced by elapsed time, not by timer ticks: whatever the timer granularity, message n leaves
  // at about start + n/rate, and a late tick sends what fell due meanwhile.
  await new Promise<void>((resolve) => {
    const tick = () => {
      const elapsed = performance.now() - start;
      const due = Math.min(
        Math.floor((elapsed / 1000) * cmd.rate) + 1,
        Math.ceil((cmd.durationMs / 1000) * cmd.rate),
      );
      const chs = cmd.channels;
      while (sent < due) {
        const ch = chs.length === 1 ? chs[0]! : chs[Math.floor(Math.random() * chs.length)]!;
        const body =
          cmd.shape === undefined ? payloadFor(cmd.size, clock()) : stampPayload(shaped(sent), clock());
        pub.write(pubFrame(kind, ch, body));
        perChannel[ch] = (perChannel[ch] ?? 0) + 1;
        sent++;
      }
      maxBacklog = Math.max(maxBacklog, pub.backlog);
      if (elapsed >= cmd.durationMs) resolve();
      else setTimeout(tick, 1);
    };
    tick();
  });
  const r: PublishReply = { type: 'publish', id: cmd.id, sent, maxBacklog, perChannel };
  reply(r);
}

/**
 * App-level pings from every connection: connection j of n pings at start + (j / n + k) × interval,
 * so the load is even over time, driven by one timer rather than one per connection.
 */
async function ping(cmd: Extract<Command, { type: 'ping' }>): Promise<void> {
  const list = [...clients];
  const n = list.length;
  const start = performance.now();
  let sent = 0;
  pongs = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const elapsed = performance.now() - start;
      const due =
        n === 0
          ? 0
          : Math.min(
              Math.floor((elapsed / cmd.intervalMs) * n),
              Math.floor((cmd.durationMs / cmd.intervalMs) * n),
            );
      while (sent < due) {
        list[sent % n]!.write(pingFrame(Math.floor(sent / n) + 1));
        sent++;
      }
      if (elapsed >= cmd.durationMs) resolve();
      else setTimeout(tick, 5);
    };
    tick();
  });
  const r: PingReply = { type: 'ping', id: cmd.id, sent, pongs };
  reply(r);
}

function reply(r: Reply): void {
  process.send!(r);
}

process.on('message', (raw) => {
  const cmd = raw as Command;
  switch (cmd.type) {
    case 'connect': {
      if (batch !== undefined) throw new Error('connect: a batch is already running');
      batch = {
        cmd,
        next: 0,
        inFlight: 0,
        opened: 0,
        subscribed: 0,
        failed: 0,
        firstError: undefined,
        lastOpenAt: 0,
        lastSubscribedAt: 0,
        timer: setTimeout(finishBatch, cmd.timeoutMs),
        subsPerChannel: {},
      };
      if (cmd.count === 0) finishBatch();
      else startMore();
      return;
    }
    case 'reset':
      early = new Histogram();
      late = new Histogram();
      splitAt = cmd.splitAt;
      delivered = 0;
      deliveredBytes = 0;
      dropped = 0;
      lastDropReason = undefined;
      serverPings = 0;
      return reply({ type: 'reset', id: cmd.id });
    case 'stats': {
      const r: StatsReply = {
        type: 'stats',
        id: cmd.id,
        delivered,
        deliveredBytes,
        early: early.toSparse(),
        late: late.toSparse(),
        dropped,
        lastDropReason,
        open: clients.size,
        serverPings,
      };
      return reply(r);
    }
    case 'publish':
      publish(cmd).catch((err: unknown) => process.stderr.write(`worker: publish failed: ${String(err)}\n`));
      return;
    case 'ping':
      ping(cmd).catch((err: unknown) => process.stderr.write(`worker: ping failed: ${String(err)}\n`));
      return;
    case 'close': {
      for (const c of clients) c.close();
      clients.clear();
      return reply({ type: 'close', id: cmd.id });
    }
  }
});

process.on('disconnect', () => process.exit(0));
