/**
 * Prometheus metrics (prefix `wsgw_`). Counters on the per-message path are plain numbers read at
 * scrape time through `collect()`, so a broadcast to 10k sockets costs additions, not 10k
 * label lookups.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { CLOSE_CODES, METRICS_PREFIX } from '../../shared/src/constants.js';

/**
 * Label values that clients or producers choose are bounded: a peer may close with any code from
 * 1000 to 4999, and a producer writing envelopes may name any origin. Each unbounded label would be
 * a time series per value in every scrape.
 */
const KNOWN_CLOSE_CODES: ReadonlySet<string> = new Set(
  [...Object.values(CLOSE_CODES), 1002, 1003, 1005, 1006, 1007, 1011].map(String),
);

/** The `code` label of a close: a code the gateway knows, `ping_timeout`, or `other`. */
export function closeLabel(code: number | 'ping_timeout'): string {
  const s = String(code);
  return s === 'ping_timeout' || KNOWN_CLOSE_CODES.has(s) ? s : 'other';
}

/** Keeps the first `max` distinct values of a label and reports the rest as `other`. */
export class BoundedLabel {
  private readonly seen = new Set<string>();
  constructor(private readonly max: number) {}
  of(value: string): string {
    if (this.seen.has(value)) return value;
    if (this.seen.size >= this.max) return 'other';
    this.seen.add(value);
    return value;
  }
}

/** Origins (regions) become labels; a deployment has a handful, 32 leaves room. */
export const originLabel = new BoundedLabel(32);

/** Hot-path tallies, bumped inline and exported at scrape time. */
export interface Tallies {
  messagesIn: number;
  bytesIn: number;
  messagesOut: number;
  bytesOut: number;
  published: number;
  /** Compressed frames built (once per message and wire shape, not per subscriber). */
  compressedFrames: number;
  /** Compressed client frames inflated. */
  inflatedFrames: number;
}

export interface GaugeSources {
  connections(): number;
  subscriptions(): number;
  channels(): number;
}

export class GatewayMetrics {
  readonly registry: Registry;
  readonly tallies: Tallies = {
    messagesIn: 0,
    bytesIn: 0,
    messagesOut: 0,
    bytesOut: 0,
    published: 0,
    compressedFrames: 0,
    inflatedFrames: 0,
  };
  readonly drops: Counter<'reason'>;
  readonly closes: Counter<'code'>;
  readonly refused: Counter<'reason'>;
  readonly errors: Counter<'code'>;
  readonly latency: Histogram<'origin'>;
  readonly recoveries: Counter<'outcome'>;
  /** Compressed client frames refused: `too_large` (1009) or `bad_data` (1007). */
  readonly inflateFailures: Counter<'reason'>;
  /** Failures contained at an entry point (each one is a bug: alert on any increase). */
  readonly internalErrors: Counter<'where'>;

  constructor(sources: GaugeSources, registry: Registry = new Registry()) {
    this.registry = registry;
    const p = METRICS_PREFIX;
    const r = [this.registry];
    const t = this.tallies;
    collectDefaultMetrics({ register: this.registry, prefix: p, eventLoopMonitoringPrecision: 20 });
    new Gauge({
      name: `${p}connections`,
      help: 'Open WebSocket connections.',
      registers: r,
      collect() {
        this.set(sources.connections());
      },
    });
    new Gauge({
      name: `${p}subscriptions`,
      help: 'Channel subscriptions held by all connections.',
      registers: r,
      collect() {
        this.set(sources.subscriptions());
      },
    });
    new Gauge({
      name: `${p}channels`,
      help: 'Channels with at least one local subscriber.',
      registers: r,
      collect() {
        this.set(sources.channels());
      },
    });
    const tally = (name: string, help: string, key: keyof Tallies) =>
      new Counter({
        name: `${p}${name}`,
        help,
        registers: r,
        collect() {
          this.reset();
          this.inc(t[key]);
        },
      });
    tally('messages_in_total', 'Frames received from clients.', 'messagesIn');
    tally('bytes_in_total', 'Bytes of frames received from clients.', 'bytesIn');
    tally('messages_out_total', 'Messages written to clients (one per subscriber).', 'messagesOut');
    tally('bytes_out_total', 'Bytes written to clients, framing included.', 'bytesOut');
    tally('published_total', 'Publishes accepted by the bus.', 'published');
    tally(
      'compressed_frames_total',
      'Compressed (permessage-deflate) frames built: one per message and wire shape, shared by its subscribers.',
      'compressedFrames',
    );
    tally('inflated_frames_total', 'Compressed client frames inflated.', 'inflatedFrames');
    this.inflateFailures = new Counter({
      name: `${p}inflate_failures_total`,
      help: 'Compressed client frames that failed to inflate, by reason (too_large: close 1009, bad_data: close 1007).',
      labelNames: ['reason'],
      registers: r,
    });
    this.drops = new Counter({
      name: `${p}drops_total`,
      help: 'Messages not delivered, by reason.',
      labelNames: ['reason'],
      registers: r,
    });
    this.closes = new Counter({
      name: `${p}closes_total`,
      help: 'Connections closed, by close code.',
      labelNames: ['code'],
      registers: r,
    });
    this.refused = new Counter({
      name: `${p}upgrades_refused_total`,
      help: 'WebSocket upgrades refused, by reason.',
      labelNames: ['reason'],
      registers: r,
    });
    this.errors = new Counter({
      name: `${p}client_errors_total`,
      help: 'Error frames sent to clients, by code.',
      labelNames: ['code'],
      registers: r,
    });
    this.recoveries = new Counter({
      name: `${p}recoveries_total`,
      help: 'Subscriptions that asked to recover from a position, by outcome.',
      labelNames: ['outcome'],
      registers: r,
    });
    this.internalErrors = new Counter({
      name: `${p}internal_errors_total`,
      help: 'Unexpected failures contained at an entry point, by where (http, upgrade, frame, timer, background).',
      labelNames: ['where'],
      registers: r,
    });
    this.latency = new Histogram({
      name: `${p}publish_to_deliver_seconds`,
      help: 'From the origin accepting a publish to this gateway writing it to its subscribers.',
      labelNames: ['origin'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: r,
    });
  }
}
