#!/usr/bin/env node
/**
 * `npm run dev:regions`: a local two-region system to try the gateway the way it runs in
 * production, on loopback only.
 *
 *   region a: Kafka cluster a, two gateways, nginx (least_conn) on 127.0.0.1:8081
 *   region b: Kafka cluster b, two gateways, nginx (least_conn) on 127.0.0.1:8082
 *   MirrorMaker 2 replicates wsgw.fanout.a to b and wsgw.fanout.b to a
 *
 * `-- --bus redis`: the same with a redis-server per region instead of Kafka (append-only file on,
 * a development password); each region's gateways append to their region's stream and read the
 * other region's stream directly from its Redis (docs/redis.md). `-- --ports 18081,18082` moves
 * the two nginx ports.
 *
 * Kafka needs a token setting (anonymous access is for embedded mode only), so the script makes a
 * development secret and prints a token that may do everything; open the printed URLs in two
 * browser tabs, one per region, and join the same channel. Ctrl-C stops everything.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { KAFKA_DIR, ROOT, fetchKafka, freePort, startCluster, startMirrorMaker } from './kafka/index.mjs';
import { startRedis } from './redis/server.mjs';

/** @import { ChildProcess, SpawnOptions } from 'node:child_process' */
/** @import { Readable } from 'node:stream' */

/**
 * @typedef {object} Region
 * @property {string} name  also its Kafka cluster's name and WSGW_REGION
 * @property {number} port  nginx in front of the region's gateways
 */

const { values: args } = parseArgs({
  options: { bus: { type: 'string', default: 'kafka' }, ports: { type: 'string', default: '8081,8082' } },
});
const BUS = args.bus;
if (BUS !== 'kafka' && BUS !== 'redis') {
  process.stderr.write(`dev:regions: --bus must be kafka or redis (got ${BUS})\n`);
  process.exit(2);
}
const PORTS = (args.ports ?? '').split(',').map(Number);
if (PORTS.length !== 2 || !PORTS.every((p) => Number.isInteger(p) && p > 0 && p < 65_536)) {
  process.stderr.write(`dev:regions: --ports must be two ports, e.g. 8081,8082 (got ${args.ports})\n`);
  process.exit(2);
}

/** @type {Region[]} */
const REGIONS = [
  { name: 'a', port: /** @type {number} */ (PORTS[0]) },
  { name: 'b', port: /** @type {number} */ (PORTS[1]) },
];
const GATEWAYS_PER_REGION = 2;
const dir = BUS === 'kafka' ? join(KAFKA_DIR, 'dev-regions') : join(ROOT, '.redis', 'dev-regions');
/** @type {ChildProcess[]} */
const children = [];
/**
 * Stop functions of Kafka and MirrorMaker, run in reverse order at the end.
 * @type {Array<() => Promise<void>>}
 */
const stoppers = [];
let stopping = false;

/** @param {string} msg */
function log(msg) {
  process.stdout.write(`dev:regions: ${msg}\n`);
}

function ensureNginx() {
  if (spawnSync('sh', ['-c', 'command -v nginx || test -x /usr/sbin/nginx']).status === 0) return;
  log('installing nginx (apt-get)');
  const sudo = process.getuid?.() === 0 ? [] : ['sudo'];
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  /** @type {Array<[string, ...string[]]>} */
  const commands = [
    ['apt-get', 'update', '-qq'],
    ['apt-get', 'install', '-y', '-qq', '--no-install-recommends', 'nginx-light'],
  ];
  for (const args of commands) {
    const r = spawnSync(sudo[0] ?? args[0], sudo.length ? args : args.slice(1), { stdio: 'inherit', env });
    if (r.status !== 0) throw new Error(`${args.join(' ')} failed`);
  }
}

/**
 * An HS256 JWT granting everything for a day, signed with the development secret.
 * @param {string} secret
 */
function devToken(secret) {
  /** @param {object} o */
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: 'dev', subscribe: ['*'], publish: ['*'], exp: Math.floor(Date.now() / 1000) + 86_400 })}`;
  return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
}

/**
 * @param {Region} region
 * @param {number[]} gatewayPorts
 * @param {string} prefix  nginx's working directory
 */
function nginxConf(region, gatewayPorts, prefix) {
  return `
worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
daemon off;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${prefix}/body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  map $http_upgrade $connection_upgrade { default upgrade; '' close; }
  # least_conn: long-lived WebSocket connections make "fewest open connections" the fair choice.
  upstream gateways_${region.name} {
    least_conn;
${gatewayPorts.map((p) => `    server 127.0.0.1:${p} max_fails=1 fail_timeout=2s;`).join('\n')}
  }
  server {
    listen 127.0.0.1:${region.port};
    location / {
      proxy_pass http://gateways_${region.name};
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $host;
      proxy_read_timeout 3600s;
      proxy_send_timeout 3600s;
    }
  }
}
`;
}

/**
 * Starts a child whose warnings and errors (pino levels 40–69) are relayed with a `[tag]` prefix,
 * or every line with `verbose`.
 * @param {string} cmd
 * @param {string[]} args
 * @param {Omit<SpawnOptions, 'stdio'> & { tag: string, verbose?: boolean }} opts
 */
function run(cmd, args, opts) {
  const child = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const tag = opts.tag;
  /** @param {Readable} stream */
  const relay = (stream) => {
    let buf = '';
    stream.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (/"level":(4|5|6)\d/.test(line) || opts.verbose) process.stdout.write(`[${tag}] ${line}\n`);
      }
    });
  };
  relay(child.stdout);
  relay(child.stderr);
  child.on('exit', (code, signal) => {
    if (!stopping) log(`${tag} exited (${signal ?? code})`);
  });
  return child;
}

/**
 * @param {string} url
 * @param {number} timeoutMs
 */
async function waitReady(url, timeoutMs) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(url)).status === 200) return;
    } catch {}
    if (Date.now() > until) throw new Error(`${url} not ready after ${timeoutMs} ms`);
    await sleep(250);
  }
}

async function stop(exitCode = 0) {
  if (stopping) return;
  stopping = true;
  log('stopping');
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  await Promise.all(
    children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : undefined)),
  );
  for (const s of stoppers.reverse()) await s().catch(() => {});
  log('stopped');
  process.exit(exitCode);
}

/** Ctrl-C or SIGTERM: stop everything. Should stopping itself fail, say why and exit anyway. */
function onSignal() {
  stop(0).catch((err) => {
    process.stderr.write(`dev:regions: ${err.stack ?? err}\n`);
    process.exit(1);
  });
}

async function main() {
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  ensureNginx();
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const regions = BUS === 'kafka' ? await startKafkaRegions() : await startRedisRegions();
  const secret = randomBytes(32).toString('hex');
  for (const r of regions) {
    for (let i = 1; i <= GATEWAYS_PER_REGION; i++) {
      const port = await freePort();
      r.gatewayPorts.push(port);
      run(process.execPath, [join(ROOT, 'dist/services/gateway/src/main.js')], {
        tag: `gw-${r.name}${i}`,
        cwd: ROOT,
        env: {
          ...process.env,
          PORT: String(port),
          WSGW_METRICS_PORT: String(await freePort()),
          WSGW_HOST: '127.0.0.1',
          // The two-region demo is opened in the browser through each region's nginx.
          WSGW_DEMO_PAGE: 'true',
          WSGW_REGION: r.name,
          WSGW_NODE_ID: `${r.name}${i}-${randomBytes(2).toString('hex')}`,
          ...r.busEnv,
          WSGW_JWT_SECRET: secret,
          WSGW_HISTORY_WARM_MS: '5000',
          WSGW_DRAIN_DELAY_MS: '0',
          WSGW_DRAIN_WINDOW_MS: '1000',
          WSGW_DRAIN_DEADLINE_MS: '5000',
        },
      });
    }
  }
  if (BUS === 'kafka') {
    log('starting MirrorMaker 2 (a <-> b)');
    const mm = await startMirrorMaker({
      clusters: regions.map((r) => ({ name: r.name, brokers: r.brokers })),
      dir: join(dir, 'mm2'),
      owner: process.pid,
    });
    stoppers.push(() => mm.stop());
  }
  for (const r of regions) {
    const prefix = join(dir, `nginx-${r.name}`);
    mkdirSync(prefix, { recursive: true });
    const conf = join(prefix, 'nginx.conf');
    writeFileSync(conf, nginxConf(r, r.gatewayPorts, prefix));
    const nginx = spawnSync('sh', ['-c', 'command -v nginx || echo /usr/sbin/nginx'])
      .stdout.toString()
      .trim();
    run(nginx, ['-c', conf, '-p', prefix, '-e', join(prefix, 'error.log')], {
      tag: `nginx-${r.name}`,
      cwd: prefix,
    });
  }
  for (const r of regions) {
    for (const p of r.gatewayPorts) await waitReady(`http://127.0.0.1:${p}/readyz`, 90_000);
    await waitReady(`http://127.0.0.1:${r.port}/readyz`, 10_000);
  }
  const token = devToken(secret);
  log('ready');
  for (const r of regions) log(`region ${r.name}: http://127.0.0.1:${r.port}/?token=${token}`);
  log(
    `websocket: ws://127.0.0.1:${PORTS[0]}/?token=<token> (region a), ws://127.0.0.1:${PORTS[1]}/?token=<token> (region b)`,
  );
  log('Ctrl-C stops everything');
}

/**
 * @typedef {Region & { brokers: string[], busEnv: Record<string, string>, gatewayPorts: number[] }} RunningRegion
 */

/**
 * Kafka clusters a and b; each region's gateways get their cluster's brokers.
 * @returns {Promise<RunningRegion[]>}
 */
async function startKafkaRegions() {
  log('fetching Kafka (cached after the first run)');
  fetchKafka();
  log('starting Kafka clusters a and b');
  return Promise.all(
    REGIONS.map(async (r) => {
      const c = await startCluster({
        name: r.name,
        dir: join(dir, `kafka-${r.name}`),
        port: await freePort(),
        owner: process.pid,
      });
      stoppers.push(() => c.stop());
      return {
        ...r,
        brokers: c.brokers,
        busEnv: { WSGW_KAFKA_BROKERS: c.brokers.join(',') },
        gatewayPorts: [],
      };
    }),
  );
}

/**
 * A redis-server per region; each region's gateways get their Redis and read the other's directly.
 * @returns {Promise<RunningRegion[]>}
 */
async function startRedisRegions() {
  log('starting redis-servers a and b');
  const password = randomBytes(12).toString('hex');
  const servers = await Promise.all(
    REGIONS.map(async (r) => {
      const s = await startRedis({ dir: join(dir, `redis-${r.name}`), password });
      stoppers.push(() => s.stop());
      return s;
    }),
  );
  return REGIONS.map((r, i) => {
    const other = REGIONS[1 - i];
    const otherUrl = servers[1 - i]?.url;
    return {
      ...r,
      brokers: [],
      busEnv: { WSGW_REDIS_URL: servers[i]?.url ?? '', WSGW_REDIS_REMOTES: `${other?.name}=${otherUrl}` },
      gatewayPorts: [],
    };
  });
}

main().catch(async (err) => {
  process.stderr.write(`dev:regions: ${err.stack ?? err}\n`);
  await stop(1);
});
