// Local redis-server processes for tests, `npm run dev:regions -- --bus redis` and the benchmarks:
// installing Debian's redis-server when missing, starting one on a loopback port with its data in
// a directory of its own, and stopping, freezing or restarting it.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../kafka/free-port.mjs';
import { startWatchdog, tail, terminate } from '../kafka/processes.mjs';

/** @import { ChildProcess } from 'node:child_process' */

/** Makes sure `redis-server` exists, installing it from Debian when missing and running as root. */
export function ensureRedisServer() {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return;
  } catch {
    // Not installed: fall through.
  }
  if (process.getuid?.() !== 0)
    throw new Error(
      'redis-server is not installed; install it (apt-get install -y redis-server) and run again',
    );
  process.stderr.write('installing redis-server from Debian (apt-get)...\n');
  execFileSync(
    'sh',
    ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server'],
    { stdio: 'inherit' },
  );
}

/**
 * @typedef {object} RedisServerOptions
 * @property {string} dir            its data (AOF) and log go here
 * @property {number} [port]         default: a free one
 * @property {string} [password]     `requirepass`
 * @property {boolean} [persistent]  append-only file with `appendfsync always` (default true)
 * @property {number} [owner]        pid whose death ends the server (default: this process)
 * @property {string[]} [args]       more redis-server arguments (e.g. `--replicaof 127.0.0.1 6379`)
 */

/**
 * @typedef {object} RedisServer
 * @property {number} port
 * @property {string} url           `redis://[:password@]127.0.0.1:<port>`
 * @property {() => number | undefined} pid
 * @property {() => Promise<void>} stop
 * @property {() => Promise<void>} restart  stop (SIGTERM), then start again on the same port and data
 * @property {() => Promise<void>} kill     SIGKILL, then start again on the same port and data
 * @property {() => void} freeze            SIGSTOP
 * @property {() => void} thaw              SIGCONT
 */

/**
 * Starts a redis-server on 127.0.0.1 and resolves once it answers PING.
 * @param {RedisServerOptions} o
 * @returns {Promise<RedisServer>}
 */
export async function startRedis(o) {
  ensureRedisServer();
  const port = o.port ?? (await freePort());
  const persistent = o.persistent ?? true;
  mkdirSync(o.dir, { recursive: true });
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    o.dir,
    '--logfile',
    join(o.dir, 'redis.log'),
    '--save',
    '',
    '--daemonize',
    'no',
    '--protected-mode',
    'no',
    ...(persistent ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
    ...(o.password ? ['--requirepass', o.password, '--masterauth', o.password] : []),
    ...(o.args ?? []),
  ];
  /** @type {ChildProcess | undefined} */
  let child;
  const launch = async () => {
    child = spawn('redis-server', args, { stdio: 'ignore', detached: true });
    child.unref();
    if (child.pid === undefined) throw new Error('could not start redis-server');
    startWatchdog(o.owner ?? process.pid, [child.pid]);
    await waitForPing(port, o.password, () => child?.exitCode !== null, join(o.dir, 'redis.log'));
  };
  const down = async (/** @type {NodeJS.Signals} */ signal) => {
    const c = child;
    if (!c?.pid) return;
    try {
      process.kill(c.pid, 'SIGCONT');
    } catch {
      // gone
    }
    await terminate(c.pid, { signal, timeoutMs: 10_000, child: c });
  };
  await launch();
  const auth = o.password ? `:${encodeURIComponent(o.password)}@` : '';
  return {
    port,
    url: `redis://${auth}127.0.0.1:${port}`,
    pid: () => child?.pid,
    stop: () => down('SIGTERM'),
    restart: async () => {
      await down('SIGTERM');
      await launch();
    },
    kill: async () => {
      await down('SIGKILL');
      await launch();
    },
    freeze: () => signal(child, 'SIGSTOP'),
    thaw: () => signal(child, 'SIGCONT'),
  };
}

/**
 * Sends `sig` to the server if it still runs.
 * @param {ChildProcess | undefined} child
 * @param {NodeJS.Signals} sig
 */
function signal(child, sig) {
  if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(child.pid, sig);
  } catch {
    // gone meanwhile
  }
}

/**
 * Resolves once the server at `port` answers PING (after AUTH when it has a password).
 * @param {number} port
 * @param {string | undefined} password
 * @param {() => boolean} exited
 * @param {string} log
 */
async function waitForPing(port, password, exited, log, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited()) throw new Error(`redis-server on port ${port} exited:\n${tail(log)}`);
    if (await pings(port, password)) return;
    if (Date.now() > deadline)
      throw new Error(`redis-server on port ${port} did not answer within ${timeoutMs} ms`);
    await sleep(50);
  }
}

/**
 * @param {number} port
 * @param {string | undefined} password
 * @returns {Promise<boolean>}
 */
function pings(port, password) {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let data = '';
    const done = (/** @type {boolean} */ ok) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1_000, () => done(false));
    s.on('error', () => done(false));
    s.on('connect', () => {
      const cmd = (/** @type {string[]} */ a) =>
        `*${a.length}\r\n${a.map((x) => `$${Buffer.byteLength(x)}\r\n${x}\r\n`).join('')}`;
      s.write((password ? cmd(['AUTH', password]) : '') + cmd(['PING']));
    });
    s.on('data', (d) => {
      data += d;
      if (data.includes('+PONG')) done(true);
      else if (/-(LOADING|ERR|WRONGPASS|NOAUTH)/.test(data)) done(false);
    });
  });
}
