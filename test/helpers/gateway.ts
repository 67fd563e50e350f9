/** Starts a real gateway on an ephemeral loopback port for a test, with config overrides. */
import { pino } from 'pino';
import { Gateway } from '../../services/gateway/src/gateway.js';
import { loadConfig } from '../../services/gateway/src/config.js';
import type { Bus } from '../../services/gateway/src/bus/bus.js';
import { MemoryBus } from '../../services/gateway/src/bus/bus-memory.js';

export interface TestGateway {
  readonly gateway: Gateway;
  readonly url: string;
  readonly http: string;
  /** Base URL of the metrics listener. */
  readonly metrics: string;
  readonly emf: string[];
  stop(): Promise<void>;
}

export async function startGateway(
  env: Record<string, string> = {},
  bus: Bus = new MemoryBus(),
): Promise<TestGateway> {
  const config = loadConfig({
    PORT: '0',
    WSGW_METRICS_PORT: '0',
    WSGW_HOST: '127.0.0.1',
    WSGW_LOG_LEVEL: 'silent',
    WSGW_READY_PROBE_INTERVAL_MS: '200',
    WSGW_HISTORY_WARM_MS: '0',
    ...env,
  });
  const emf: string[] = [];
  const gateway = new Gateway({
    config,
    bus,
    logger: pino({ level: 'silent' }),
    emfSink: (l) => emf.push(l),
  });
  await gateway.start();
  const port = gateway.port;
  return {
    gateway,
    url: `ws://127.0.0.1:${port}/`,
    http: `http://127.0.0.1:${port}`,
    metrics: `http://127.0.0.1:${gateway.metricsPort}`,
    emf,
    stop: () => gateway.stop(),
  };
}

/** Polls until `fn` returns true or the timeout passes. */
export async function waitFor(
  fn: () => boolean | Promise<boolean>,
  timeoutMs = 5_000,
  what = 'condition',
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
