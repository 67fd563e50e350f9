#!/usr/bin/env node
// watchdog.mjs <owner-pid> <pid>...
// Ends the given processes (SIGTERM, then SIGKILL after 10 s) once the owner process is gone, so
// that brokers started by a test run never outlive it, even when the run is killed. Exits by
// itself as soon as all of them have ended.
import { isAlive } from './processes.mjs';

const [owner, ...pids] = process.argv.slice(2).map(Number);
if (owner === undefined) {
  process.stderr.write('usage: watchdog.mjs <owner-pid> <pid>...\n');
  process.exit(2);
}

/** @param {NodeJS.Signals} sig */
function signal(sig) {
  for (const pid of pids) {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  }
}

const timer = setInterval(() => {
  if (!pids.some(isAlive)) process.exit(0);
  if (!isAlive(owner)) {
    clearInterval(timer);
    signal('SIGTERM');
    setTimeout(() => {
      signal('SIGKILL');
      process.exit(0);
    }, 10_000);
  }
}, 1000);
