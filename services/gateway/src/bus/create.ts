/**
 * Chooses the bus from the configuration. The Kafka implementation is loaded only when used, so
 * embedded mode never pays for kafkajs.
 */
import type { Registry } from 'prom-client';
import type { GatewayConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { Bus } from './bus.js';
import { MemoryBus } from './bus-memory.js';

export async function createBus(config: GatewayConfig, log: Logger, registry: Registry): Promise<Bus> {
  const k = config.kafka;
  if (k === undefined) return new MemoryBus();
  const { KafkaBus } = await import('./bus-kafka.js');
  return new KafkaBus({
    brokers: k.brokers,
    auth: k.auth,
    tls: k.tls,
    awsRegion: k.awsRegion,
    remotes: k.remotes,
    // Warm the recovery history: a new gateway can then serve clients moving over from others.
    readBackMs: config.history.maxAgeMs,
    topicPrefix: k.topicPrefix,
    region: config.region,
    nodeId: config.nodeId,
    registry,
    logger: log.child({ component: 'bus' }),
  });
}
