/**
 * Server-side cost as the kernel accounts it: CPU time from /proc/<pid>/stat (utime + stime) and
 * resident memory from /proc/<pid>/status. Linux only, like the rest of the suite.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

const TICKS_PER_SEC = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

function statFields(pid: number): string[] {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces; fields after it start past the last ')'.
  return s.slice(s.lastIndexOf(')') + 2).split(' ');
}

/** CPU seconds (user + system) a process has used so far; 0 once it has exited. */
export function cpuSeconds(pid: number): number {
  try {
    const f = statFields(pid);
    // After the name: state is index 0, so utime (field 14) is index 11 and stime index 12.
    return (Number(f[11]) + Number(f[12])) / TICKS_PER_SEC;
  } catch {
    return 0;
  }
}

/** Resident set size in bytes (VmRSS). */
export function rssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Direct children of a process. */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (Number(statFields(Number(name))[1]) === pid) out.push(Number(name));
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}

export const sumCpu = (pids: readonly number[]): number => pids.reduce((a, p) => a + cpuSeconds(p), 0);
export const sumRss = (pids: readonly number[]): number => pids.reduce((a, p) => a + rssBytes(p), 0);
