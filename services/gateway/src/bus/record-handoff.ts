/**
 * What every bus does with one record once it knows the record's channel (its key), origin and
 * stamp: hand an unwanted one to the history undecoded, or decode a wanted one, check it against
 * where it came from, drop a duplicate and deliver it. One place, so the Kafka and Redis readers
 * cannot drift apart on the per-message path.
 */
import { decodeEnvelope, EnvelopeError } from '../../../shared/src/envelope.js';
import { originLabel } from '../metrics.js';
import type { BusHandler, BusMessage } from './bus.js';
import type { MessageDedup } from './dedup-window.js';
import type { BusLogger } from './kafka-bus-options.js';
import type { KafkaBusMetrics, MalformedReason } from './kafka-metrics.js';

export interface HandoffContext {
  readonly dedup: MessageDedup;
  readonly metrics: KafkaBusMetrics;
  readonly log: BusLogger;
}

/** An unwanted record, undecoded, to the handler's history hook (a throw there is counted). */
export function handSkipped(
  h: BusHandler,
  key: string,
  value: Uint8Array,
  stamp: number,
  origin: string,
  metrics: KafkaBusMetrics,
): void {
  if (h.skipped === undefined) return;
  try {
    h.skipped(key, value, stamp, origin);
  } catch {
    metrics.errors.inc({ kind: 'handler' });
  }
}

/**
 * Decodes a wanted record and delivers it unless it is a duplicate. Returns why the record is
 * malformed (the caller counts it), or undefined when it was delivered or dropped as a duplicate.
 */
export function handOver(
  value: Uint8Array | null | undefined,
  key: string,
  origin: string,
  stamp: number,
  h: BusHandler,
  ctx: HandoffContext,
): MalformedReason | undefined {
  let env: BusMessage;
  try {
    if (value == null) throw new EnvelopeError('malformed', 'record has no envelope');
    env = decodeEnvelope(value);
  } catch (err) {
    return err instanceof EnvelopeError ? err.code : 'malformed';
  }
  if (env.channel !== key) return 'key_mismatch';
  if (env.origin !== origin) return 'origin_mismatch';
  const { metrics } = ctx;
  if (!ctx.dedup.add(env.id)) {
    metrics.duplicates.inc();
    return undefined;
  }
  const label = originLabel.of(env.origin);
  metrics.delivered.inc({ origin: label });
  if (env.ts > 0)
    metrics.replicationDelay.observe({ origin: label }, Math.max(0, Date.now() - env.ts) / 1000);
  try {
    h.deliver(env, stamp);
  } catch (err) {
    metrics.errors.inc({ kind: 'handler' });
    ctx.log.error({ err, channel: env.channel }, 'bus handler threw on deliver');
  }
  return undefined;
}
