/**
 * Readiness probes of the Kafka bus (docs/kafka.md, Readiness): a record with the reserved key
 * `__wsgw.probe.<node>.<instance>.<n>`, written to the local topic and answered when this instance
 * reads it back, so that a probe tests the real path: produce, broker, fetch. Every other consumer
 * skips reserved keys before asking `wants()`, so probes never reach clients.
 */
import { randomUUID } from 'node:crypto';
import { encodeEnvelope } from '../../../shared/src/envelope.js';
import { BusError } from './bus.js';
import { RESERVED_KEY_PREFIX } from './kafka-batch-reader.js';

const PROBE_PREFIX = `${RESERVED_KEY_PREFIX}probe.`;

export class Probes {
  /** Keys of this instance's probes start with this. */
  private readonly prefix: string;
  private readonly waiting = new Map<string, () => void>();
  private seq = 0;

  /** @param instance tells this bus instance from others of the same node (a restart) */
  constructor(
    private readonly region: string,
    private readonly nodeId: string,
    instance: string,
  ) {
    this.prefix = `${PROBE_PREFIX}${nodeId}.${instance}.`;
  }

  /**
   * Publishes a probe through `enqueue` and resolves when it has been read back. Rejects with
   * `bus_unavailable` after `timeoutMs`, or with `enqueue`'s error.
   */
  send(timeoutMs: number, enqueue: (key: string, value: Uint8Array) => Promise<unknown>): Promise<void> {
    const key = `${this.prefix}${++this.seq}`;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new BusError('bus_unavailable', `probe did not return within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.waiting.set(key, () => {
        clearTimeout(timer);
        resolve();
      });
      const value = encodeEnvelope({
        id: randomUUID(),
        channel: key,
        origin: this.region,
        node: this.nodeId,
        ts: Date.now(),
        contentType: 'application/octet-stream',
        payload: new Uint8Array(0),
      });
      enqueue(key, value).catch((err: unknown) => {
        clearTimeout(timer);
        reject(err);
      });
    }).finally(() => this.waiting.delete(key));
  }

  /** A reserved key other than a tick was read: answers the probe it belongs to, if it is ours. */
  answered(key: string): void {
    if (key.startsWith(this.prefix)) this.waiting.get(key)?.();
  }
}
