/**
 * Cross-region "direct" mode (`WSGW_KAFKA_REMOTE_BROKERS`): instead of reading a replicated copy
 * from the local cluster, a gateway reads another region's origin topic straight from that region's
 * cluster. One {@link RemoteFeed} per remote region.
 *
 * A remote region is never a reason for this gateway to be unready: the feed connects, and waits
 * for the remote origin topic to exist, in the background, and reports its state only through
 * `up` (and the `wsgw_bus_remote_up{region}` metric).
 */
import type { Admin, Kafka } from 'kafkajs';
import { FanoutConsumer, type FanoutConsumerOptions } from './kafka-consumer.js';
import { BROKER_ADDRESS, splitByRegion } from '../../../shared/src/names.js';

/** Another region's cluster, read directly. */
export interface RemoteCluster {
  readonly region: string;
  readonly brokers: readonly string[];
  /** AWS region that signs MSK IAM tokens for this cluster; default `region`. */
  readonly awsRegion?: string;
}

export interface RemoteFeedOptions {
  readonly topic: string;
  readonly groupId: string;
  readonly fromTimestamp: number;
  /** Read this much of the topic from before `fromTimestamp` into history (ms), as the local topics are. */
  readonly readBackMs?: number;
  readonly maxWaitTimeMs: number;
  /** How often to retry connecting / look for the topic (ms). */
  readonly retryMs: number;
  readonly onBatch: FanoutConsumerOptions['onBatch'];
  readonly onTopic?: FanoutConsumerOptions['onTopic'];
  readonly onCovered?: FanoutConsumerOptions['onCovered'];
  readonly onState: (up: boolean, err?: unknown) => void;
}

export class RemoteFeed {
  private admin: Admin | undefined;
  private consumer: FanoutConsumer | undefined;
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private stopped = false;
  private upValue = false;

  constructor(
    private readonly kafka: Kafka,
    private readonly opts: RemoteFeedOptions,
  ) {}

  /** Whether the remote topic is being consumed right now. */
  get up(): boolean {
    return this.upValue;
  }

  start(): void {
    // tick() reports its failures through onState; nothing else can reject.
    const tick = (): void => void this.tick().catch((err: unknown) => this.opts.onState(false, err));
    tick();
    this.timer = setInterval(tick, this.opts.retryMs).unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    const { consumer, admin } = this;
    this.consumer = undefined;
    this.admin = undefined;
    await consumer?.stop().catch(() => undefined);
    if (admin) {
      await admin.deleteGroups([this.opts.groupId]).catch(() => undefined);
      await admin.disconnect().catch(() => undefined);
    }
  }

  private async tick(): Promise<void> {
    if (this.busy || this.stopped || this.consumer !== undefined) return;
    this.busy = true;
    try {
      this.admin ??= this.kafka.admin({ retry: { retries: 1, initialRetryTime: 200, maxRetryTime: 1_000 } });
      await this.admin.connect();
      if (!(await this.admin.listTopics()).includes(this.opts.topic)) return;
      const consumer = new FanoutConsumer(this.kafka, this.admin, {
        groupId: this.opts.groupId,
        match: (t) => t === this.opts.topic,
        fromTimestamp: this.opts.fromTimestamp,
        readBackMs: this.opts.readBackMs,
        maxWaitTimeMs: this.opts.maxWaitTimeMs,
        onBatch: this.opts.onBatch,
        onTopic: this.opts.onTopic,
        onCovered: this.opts.onCovered,
        onState: (up, err) => {
          this.upValue = up;
          this.opts.onState(up, err);
        },
      });
      await consumer.start();
      if (this.stopped) await consumer.stop();
      else this.consumer = consumer;
    } catch (err) {
      this.opts.onState(false, err);
      const admin = this.admin;
      this.admin = undefined;
      await admin?.disconnect().catch(() => undefined);
    } finally {
      this.busy = false;
    }
  }
}

/**
 * Parses `WSGW_KAFKA_REMOTE_BROKERS`: `<region>=<host:port>,<host:port>;<region>=...`.
 * Throws `TypeError` describing the first malformed part.
 */
export function parseRemoteBrokers(value: string): RemoteCluster[] {
  return splitByRegion(value).map(({ region, value: list, part }) => {
    const brokers = list
      .split(',')
      .map((b) => b.trim())
      .filter(Boolean);
    if (brokers.length === 0 || !brokers.every((b) => BROKER_ADDRESS.test(b)))
      throw new TypeError(`"${part}" does not list host:port brokers`);
    return { region, brokers };
  });
}
