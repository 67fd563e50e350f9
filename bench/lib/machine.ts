/** The machine a run happened on, recorded with its results. */
import { cpus, totalmem, release, loadavg, platform } from 'node:os';
import { readFileSync } from 'node:fs';

export interface Machine {
  readonly cores: number;
  readonly cpuModel: string;
  readonly memoryBytes: number;
  readonly node: string;
  readonly os: string;
  /** Per-process open-file limit (soft/hard) the run had. */
  readonly openFileLimit: string;
  /** 1-minute load average when the run started: other work on the machine makes figures noisier. */
  readonly loadAverageAtStart: number;
}

export function machine(): Machine {
  let openFileLimit = 'unknown';
  try {
    const m = /Max open files\s+(\d+)\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (m) openFileLimit = `${m[1]}/${m[2]}`;
  } catch {
    // Not Linux.
  }
  return {
    cores: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    memoryBytes: totalmem(),
    node: process.version,
    os: `${platform()} ${release()}`,
    openFileLimit,
    loadAverageAtStart: Number(loadavg()[0]!.toFixed(2)),
  };
}
