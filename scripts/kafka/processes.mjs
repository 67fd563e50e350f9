// Process supervision for the JVMs: starting them detached with their output in a log file,
// ending them (politely, then not), and the watchdog that ends them when their owner dies.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

/** @import { ChildProcess } from 'node:child_process' */

const WATCHDOG = fileURLToPath(new URL('watchdog.mjs', import.meta.url));

/**
 * Runs a command to completion without blocking the event loop; resolves with its exit code and output.
 * @param {string} cmd
 * @param {string[]} args
 * @returns {Promise<{ code: number | null, output: string }>}
 */
export function run(cmd, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

/**
 * Whether a process exists; EPERM means it does but belongs to someone else.
 * @param {number} pid
 */
export function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return /** @type {NodeJS.ErrnoException} */ (err).code === 'EPERM';
  }
}

/**
 * The last lines of a log file, or '' when it cannot be read.
 * @param {string} file
 */
export function tail(file, lines = 30) {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/**
 * @typedef {object} JavaProcess
 * @property {ChildProcess} child
 * @property {number} pid
 * @property {string} log     file that receives its stdout and stderr
 * @property {() => boolean} exited
 */

/**
 * Spawns a JVM with its output going to `log`; records its pid in `<dir>/<name>.pid`.
 * The process gets its own process group (detached) so that Ctrl-C in a terminal running tests
 * does not kill it half-way; the watchdog or `stop` ends it.
 * @param {string} dir
 * @param {string} name
 * @param {string[]} javaArgs
 * @returns {JavaProcess}
 */
export function spawnJava(dir, name, javaArgs) {
  const log = join(dir, `${name}.log`);
  const fd = openSync(log, 'a');
  const child = spawn('java', javaArgs, { detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const pid = child.pid;
  // No pid means the spawn itself failed (java was checked beforehand, so: out of processes or memory).
  if (pid === undefined) throw new Error(`could not start java for ${name} in ${dir}`);
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  child.unref();
  writeFileSync(join(dir, `${name}.pid`), String(pid));
  return { child, pid, log, exited: () => exited || !isAlive(pid) };
}

/**
 * Sends SIGTERM (or `signal`), waits up to `timeoutMs` for the process to go, then SIGKILLs it.
 * With `child`, its exit event decides, so that a zombie not yet reaped does not count as alive.
 * @param {number | undefined} pid
 * @param {{ signal?: NodeJS.Signals, timeoutMs?: number, child?: ChildProcess }} [opts]
 */
export async function terminate(pid, { signal = 'SIGTERM', timeoutMs = 20_000, child } = {}) {
  if (!pid || !isAlive(pid)) return;
  const gone = () => (child ? child.exitCode !== null || child.signalCode !== null : !isAlive(pid));
  try {
    process.kill(pid, signal);
  } catch {
    return;
  }
  const deadline = Date.now() + timeoutMs;
  while (!gone() && Date.now() < deadline) await sleep(50);
  if (!gone()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      return;
    }
    while (!gone()) await sleep(50);
  }
}

/**
 * Starts scripts/kafka/watchdog.mjs, detached, to end `pids` once `owner` is gone.
 * @param {number} owner
 * @param {number[]} pids
 */
export function startWatchdog(owner, pids) {
  const w = spawn(process.execPath, [WATCHDOG, String(owner), ...pids.map(String)], {
    detached: true,
    stdio: 'ignore',
  });
  w.unref();
  return w;
}
