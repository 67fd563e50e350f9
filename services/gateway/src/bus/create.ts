/**
 * Chooses the bus from the configuration. The Kafka and Redis implementations are loaded only when
 * used, so embedded mode never pays for kafkajs or node-redis.
 */
import type { Registry } from 'prom-client';
import type { GatewayConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { Bus } from './bus.js';
import { MemoryBus } from './bus-memory.js';
import { resolveRack } from './kafka-rack.js';

/** @param metadataUri the ECS task metadata endpoint (v4), when running on ECS: gives the zone */
export async function createBus(
  config: GatewayConfig,
  log: Logger,
  registry: Registry,
  metadataUri?: string,
): Promise<Bus> {
  const r = config.redis;
  if (r !== undefined) {
    const { RedisBus } = await import('./bus-redis.js');
    return new RedisBus({
      url: r.url,
      remotes: r.remotes,
      streamPrefix: r.streamPrefix,
      waitReplicas: r.waitReplicas,
      // Warm the recovery history, and keep as much in the stream for gateways that start later.
      readBackMs: config.history.maxAgeMs,
      stampSkewMs: config.history.skewMs,
      region: config.region,
      nodeId: config.nodeId,
      registry,
      logger: log.child({ component: 'bus' }),
    });
  }
  const k = config.kafka;
  if (k === undefined) return new MemoryBus();
  const { KafkaBus } = await import('./bus-kafka.js');
  const rack = await resolveRack(k.rack, { metadataUri });
  if (rack.problem)
    log.warn(
      { zone: rack.zone, problem: rack.problem },
      'no Kafka rack: fetching from partition leaders, across zones',
    );
  else if (rack.rack)
    log.info(
      { rack: rack.rack, zone: rack.zone },
      'Kafka consumer rack set: fetching from replicas in this zone',
    );
  return new KafkaBus({
    rackId: rack.rack,
    brokers: k.brokers,
    auth: k.auth,
    tls: k.tls,
    awsRegion: k.awsRegion,
    remotes: k.remotes,
    // Warm the recovery history: a new gateway can then serve clients moving over from others.
    readBackMs: config.history.maxAgeMs,
    stampSkewMs: config.history.skewMs,
    topicPrefix: k.topicPrefix,
    region: config.region,
    nodeId: config.nodeId,
    registry,
    logger: log.child({ component: 'bus' }),
  });
}
