/** Runs the compiled gateway as a real process, the way `npm start` and the container do. */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { waitFor } from './gateway.js';

export const ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');

/** Compiles the services and the browser client bundle once per test file (a few seconds). */
export function build(): void {
  execFileSync(
    process.execPath,
    [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.build.json')],
    { cwd: ROOT, stdio: 'inherit' },
  );
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'build-client.mjs')], {
    cwd: ROOT,
    stdio: 'inherit',
  });
}

export interface GatewayProcess {
  readonly child: ChildProcess;
  readonly stdout: string[];
  readonly stderr: string[];
  port: number;
  /** The metrics listener's port, from the start-up log line. */
  metricsPort: number;
  exited: Promise<number | null>;
}

export function spawnGateway(args: string[], env: Record<string, string>): GatewayProcess {
  const child = spawn(args[0]!, args.slice(1), {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      PORT: '0',
      WSGW_METRICS_PORT: '0',
      WSGW_HOST: '127.0.0.1',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const p: GatewayProcess = {
    child,
    stdout: [],
    stderr: [],
    port: 0,
    metricsPort: 0,
    exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))),
  };
  let buf = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      p.stdout.push(line);
      const m = /"port":(\d+)/.exec(line);
      if (m && line.includes('gateway listening')) {
        p.port = Number(m[1]);
        p.metricsPort = Number(/"metricsPort":(\d+)/.exec(line)?.[1] ?? 0);
      }
    }
  });
  child.stderr!.on('data', (d: Buffer) => p.stderr.push(...d.toString().split('\n').filter(Boolean)));
  return p;
}

export async function listening(p: GatewayProcess, timeoutMs = 15_000): Promise<number> {
  await waitFor(() => p.port > 0 || p.child.exitCode !== null, timeoutMs, 'gateway to listen');
  if (p.port === 0) throw new Error(`gateway exited: ${p.stderr.join('\n')}`);
  return p.port;
}
