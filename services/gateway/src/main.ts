/**
 * Entry point: `node dist/services/gateway/src/main.js` (what `npm start` and the container run).
 * Reads the configuration, picks the bus (Kafka when WSGW_KAFKA_BROKERS is set, Redis when
 * WSGW_REDIS_URL is, in-memory otherwise: "embedded mode"), starts the gateway and drains it on SIGTERM/SIGINT.
 */
import { ConfigError, loadConfig, type GatewayConfig } from './config.js';
import { createLogger } from './logger.js';
import { Gateway } from './gateway.js';
import { createBus } from './bus/create.js';
import { watchEcsStop } from './ecs-stop.js';
import { Registry } from 'prom-client';

/** Exit status for a configuration error (EX_CONFIG from sysexits.h). */
const EX_CONFIG = 78;

async function main(): Promise<void> {
  let config: GatewayConfig;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`wsgw: invalid configuration: ${err.message}\n`);
      process.exit(EX_CONFIG);
    }
    throw err;
  }
  const log = createLogger(config.logLevel, {
    service: config.serviceName,
    region: config.region,
    node: config.nodeId,
  });
  if (config.auth.allowAnonymous) {
    log.warn(
      'anonymous access is allowed (embedded mode without a token setting): every client may subscribe and publish to every channel; never use this in production',
    );
  }
  if (config.allowedOrigins === undefined) {
    log.warn(
      "WSGW_ALLOWED_ORIGINS is not set: browsers on any site may open connections with their users' tokens",
    );
  }
  const registry = new Registry();
  const metadataUri = process.env.ECS_CONTAINER_METADATA_URI_V4;
  const bus = await createBus(config, log, registry, metadataUri);
  const gateway = new Gateway({ config, bus, logger: log, registry });
  // Last line of defence: every async path contains its own failures (and lint enforces it), but
  // a rejection that still escapes is logged and counted rather than ending the process with every
  // connection on it.
  process.on('unhandledRejection', (reason) => {
    gateway.metrics.internalErrors.inc({ where: 'background' });
    log.error({ err: reason }, 'unhandled rejection');
  });

  let draining = false;
  const drainAndExit = (delayMs?: number) => {
    if (draining) return;
    draining = true;
    // Hard deadline: the drain itself is bounded, this guards against anything that hangs.
    setTimeout(() => {
      log.error('drain did not finish before the deadline: exiting');
      process.exit(0);
    }, config.timing.drainDeadlineMs).unref();
    gateway.drain({ delayMs }).then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'drain failed');
        process.exit(0);
      },
    );
  };
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (++signals > 1) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    log.info({ signal }, 'signal received: draining');
    drainAndExit();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  if (metadataUri) {
    watchEcsStop({
      metadataUri,
      onStopping: () => {
        // The target is already deregistering: no need to wait for the balancer.
        log.info('ECS is stopping this task: draining ahead of SIGTERM');
        drainAndExit(0);
      },
      onError: (err) => log.debug({ err }, 'task metadata poll failed'),
    });
  }

  await gateway.start();
}

main().catch((err: unknown) => {
  process.stderr.write(`wsgw: fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
