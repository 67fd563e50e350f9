/**
 * Real gateway processes (the compiled `main.js`, as in production) on the test Kafka clusters,
 * or on the test Redis servers (no brokers, `WSGW_REDIS_URL` in `env`).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../../scripts/kafka/index.mjs';
import { spawnGateway, type GatewayProcess } from './process.js';

export const PUBLISH_KEY = 'fleet-test-publish-key-0123';
export const JWT_SECRET = 'fleet-test-jwt-secret-0123456789abcdef';

export interface FleetGateway {
  readonly name: string;
  readonly region: string;
  readonly proc: GatewayProcess;
  readonly port: number;
  /** The metrics listener's port. */
  readonly metricsPort: number;
}

export async function startFleetGateway(
  name: string,
  region: string,
  brokers: string[],
  env: Record<string, string> = {},
): Promise<FleetGateway> {
  const port = await freePort();
  const metricsPort = await freePort();
  const proc = spawnGateway(['node', 'dist/services/gateway/src/main.js'], {
    PORT: String(port),
    WSGW_METRICS_PORT: String(metricsPort),
    WSGW_REGION: region,
    WSGW_NODE_ID: `${name}-${Math.random().toString(36).slice(2, 6)}`,
    ...(brokers.length > 0 ? { WSGW_KAFKA_BROKERS: brokers.join(',') } : {}),
    WSGW_JWT_SECRET: JWT_SECRET,
    WSGW_PUBLISH_KEY: PUBLISH_KEY,
    WSGW_LOG_LEVEL: process.env.WSGW_TEST_GATEWAY_LOG_LEVEL ?? 'warn',
    WSGW_READY_PROBE_INTERVAL_MS: '500',
    // The read-back reaches the history TTL; a short warm-up keeps starts quick.
    WSGW_HISTORY_WARM_MS: '2500',
    WSGW_RATE_LIMIT_PER_SEC: '100000',
    WSGW_RATE_LIMIT_BURST: '100000',
    ...env,
  });
  await waitReady(port);
  return { name, region, proc, port, metricsPort };
}

export async function waitReady(port: number, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200) return;
    } catch {}
    if (Date.now() > until) throw new Error(`gateway on ${port} not ready within ${timeoutMs} ms`);
    await sleep(100);
  }
}

/** Publishes through `POST /publish`; resolves true when the gateway acknowledged (202). */
export async function publish(port: number, ch: string, data: unknown): Promise<boolean> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/publish`, {
      method: 'POST',
      headers: { authorization: `Bearer ${PUBLISH_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ch, data }),
    });
    return r.status === 202;
  } catch {
    return false;
  }
}

export async function kill(g: FleetGateway, signal: NodeJS.Signals): Promise<void> {
  g.proc.child.kill(signal);
  await g.proc.exited;
}
