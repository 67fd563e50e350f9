/**
 * Prometheus metrics of the Kafka bus (prefix `wsgw_bus_`). Registered on the registry the gateway
 * passes in, or on a private one (so that several buses in one process, as in tests, never clash).
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Why a record was not delivered although its channel was wanted. */
export type MalformedReason =
  'malformed' | 'unknown_version' | 'invalid' | 'no_key' | 'key_mismatch' | 'origin_mismatch';

/** Kinds of bus errors counted in `wsgw_bus_errors_total`. */
export type BusErrorKind =
  | 'stamps'
  | 'produce'
  | 'connect'
  | 'consumer_crash'
  | 'topic_refresh'
  | 'buffer_full'
  | 'buffer_timeout'
  | 'handler'
  | 'rejected'
  /** Redis bus: entries removed from a stream before this gateway read them. */
  | 'gap';

export class KafkaBusMetrics {
  readonly registry: Registry;
  readonly produced: Counter<'topic'>;
  readonly consumed: Counter<'topic'>;
  readonly delivered: Counter<'origin'>;
  readonly skippedUnwanted: Counter;
  readonly duplicates: Counter;
  readonly malformed: Counter<'reason'>;
  readonly errors: Counter<'kind'>;
  readonly buffered: Gauge;
  readonly up: Gauge;
  readonly consumerLag: Gauge<'topic' | 'partition'>;
  readonly remoteUp: Gauge<'region'>;
  readonly replicationDelay: Histogram<'origin'>;
  readonly fetches: Counter<'broker'>;

  /** @param healthy read at each scrape for `wsgw_bus_up` */
  constructor(registry: Registry = new Registry(), healthy: () => boolean = () => false) {
    this.registry = registry;
    const registers = [registry];
    this.produced = new Counter({
      name: 'wsgw_bus_produced_total',
      help: 'Records acknowledged by Kafka, by topic.',
      labelNames: ['topic'],
      registers,
    });
    this.consumed = new Counter({
      name: 'wsgw_bus_consumed_total',
      help: 'Records read from Kafka, by topic, before any filtering.',
      labelNames: ['topic'],
      registers,
    });
    this.delivered = new Counter({
      name: 'wsgw_bus_delivered_total',
      help: 'Messages handed to the hub, by origin region.',
      labelNames: ['origin'],
      registers,
    });
    this.skippedUnwanted = new Counter({
      name: 'wsgw_bus_skipped_unwanted_total',
      help: 'Records skipped undecoded because no local client holds their channel.',
      registers,
    });
    this.duplicates = new Counter({
      name: 'wsgw_bus_duplicates_total',
      help: 'Records dropped because their message id was seen within the dedup window.',
      registers,
    });
    this.malformed = new Counter({
      name: 'wsgw_bus_malformed_total',
      help: 'Records that could not be decoded or validated, by reason; skipped.',
      labelNames: ['reason'],
      registers,
    });
    this.errors = new Counter({
      name: 'wsgw_bus_errors_total',
      help: 'Bus errors by kind.',
      labelNames: ['kind'],
      registers,
    });
    this.buffered = new Gauge({
      name: 'wsgw_bus_buffered_messages',
      help: 'Publishes waiting for a Kafka acknowledgement.',
      registers,
    });
    this.up = new Gauge({
      name: 'wsgw_bus_up',
      help: '1 while the bus is healthy (health().ok), else 0.',
      registers,
      collect() {
        this.set(healthy() ? 1 : 0);
      },
    });
    this.consumerLag = new Gauge({
      name: 'wsgw_bus_consumer_lag',
      help: 'Records behind the partition end, as of the last fetch.',
      labelNames: ['topic', 'partition'],
      registers,
    });
    this.remoteUp = new Gauge({
      name: 'wsgw_bus_remote_up',
      help: 'Direct mode: 1 while the origin topic of a remote region is being read from its cluster.',
      labelNames: ['region'],
      registers,
    });
    this.fetches = new Counter({
      name: 'wsgw_bus_fetches_total',
      help: 'Fetch requests of the fan-out consumer, by broker (host:port): with a rack set, most go to the broker in the same zone.',
      labelNames: ['broker'],
      registers,
    });
    this.replicationDelay = new Histogram({
      name: 'wsgw_bus_replication_delay_seconds',
      help: 'Time from publish at the origin (envelope timestamp) to delivery here, by origin region.',
      labelNames: ['origin'],
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
  }
}
