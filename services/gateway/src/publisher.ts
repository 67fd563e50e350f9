/**
 * Publishing: a message from a client, a backend (`POST /publish`) or the gateway itself (load
 * reports) becomes an envelope with its id, origin and node, and goes to the bus.
 */
import { BusError, type Bus, type BusMessage } from './bus/bus.js';
import { CLIENT_ID_PREFIX } from './bus/dedup-window.js';
import type { GatewayConfig } from './config.js';
import type { GatewayMetrics } from './metrics.js';
import type { ContentType } from '../../shared/src/envelope.js';

export class Publisher {
  private seq = 0;

  constructor(
    private readonly bus: Bus,
    private readonly config: Pick<GatewayConfig, 'region' | 'nodeId' | 'messageIdPrefix' | 'timing'>,
    private readonly metrics: GatewayMetrics,
  ) {}

  /**
   * Publishes a message to every subscriber in every region. Resolves with the message id once
   * the bus holds it durably; rejects with a {@link BusError} otherwise, `bus_uncertain` when the
   * bus has not answered within `WSGW_PUBLISH_TIMEOUT_MS` (it may still deliver the message).
   * `mid`, a client-chosen id, makes the publish idempotent: the bus delivers an id once.
   */
  async publish(ch: string, contentType: ContentType, payload: Uint8Array, mid?: string): Promise<string> {
    const msg: BusMessage = {
      id:
        mid === undefined
          ? `${this.config.messageIdPrefix}-${(++this.seq).toString(36)}`
          : `${CLIENT_ID_PREFIX}${mid}`,
      channel: ch,
      origin: this.config.region,
      node: this.config.nodeId,
      ts: Date.now(),
      contentType,
      payload,
    };
    let timer: NodeJS.Timeout | undefined;
    const ms = this.config.timing.publishTimeoutMs;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new BusError(
              'bus_uncertain',
              `the bus did not confirm within ${ms} ms; the message may still be delivered`,
            ),
          ),
        ms,
      );
    });
    try {
      await Promise.race([this.bus.publish(msg), deadline]);
    } finally {
      clearTimeout(timer);
    }
    this.metrics.tallies.published++;
    return msg.id;
  }
}
