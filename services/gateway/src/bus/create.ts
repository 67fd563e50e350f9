/**
 * Chooses the bus from the configuration. The Kafka implementation is loaded only when used, so
 * embedded mode never pays for kafkajs.
 */
import type { GatewayConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { Bus } from './bus.js';
import { MemoryBus } from './bus-memory.js';

export async function createBus(config: GatewayConfig, log: Logger): Promise<Bus> {
  if (config.kafka === undefined) return new MemoryBus();
  void log;
  throw new Error('the Kafka bus is not available in this build');
}
