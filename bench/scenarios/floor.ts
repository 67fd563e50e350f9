/**
 * Write floor (bench/servers/write-floor.ts): CPU per small loopback write in a bare process, the
 * least any server spends per delivery when each delivery is its own write.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../servers/targets.js';
import { sig } from '../lib/util.js';

export interface FloorConfig {
  readonly connections: number;
  readonly rounds: number;
  /** Pause between rounds (ms): one write per socket per event-loop turn, like a lightly loaded server. */
  readonly intervalMs: number;
  /** Frame bytes on the wire (a 100-byte payload plus the 2-byte header). */
  readonly frameBytes: number;
}

export interface FloorResult {
  readonly connections: number;
  readonly writes: number;
  readonly frameBytes: number;
  /** CPU (user + system) per write, µs. */
  readonly cpuUsPerWrite: number;
  readonly userUsPerWrite: number;
  readonly systemUsPerWrite: number;
}

export async function runFloor(cfg: FloorConfig): Promise<FloorResult> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(ROOT, 'bench', 'servers', 'write-floor.ts'),
      String(cfg.connections),
      String(cfg.rounds),
      String(cfg.intervalMs),
      String(cfg.frameBytes),
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0) throw new Error(`write floor: exited with ${code}`);
  const r = JSON.parse(out.trim()) as {
    connections: number;
    writes: number;
    frameBytes: number;
    userUs: number;
    systemUs: number;
  };
  return {
    connections: r.connections,
    writes: r.writes,
    frameBytes: r.frameBytes,
    cpuUsPerWrite: sig((r.userUs + r.systemUs) / r.writes),
    userUsPerWrite: sig(r.userUs / r.writes),
    systemUsPerWrite: sig(r.systemUs / r.writes),
  };
}
