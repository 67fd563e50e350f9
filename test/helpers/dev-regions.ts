/**
 * `npm run dev:regions` as a person uses it, for either bus: the script starts two regions, prints
 * a token and the URLs; a client in each region exchanges messages with the other; Ctrl-C stops
 * everything.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { expect } from 'vitest';
import { WsgwClient } from '../../services/client/src/client.js';
import { ROOT, build } from './process.js';
import { waitFor } from './gateway.js';

/** Runs `scripts/dev-regions.mjs <args>` with regions a and b behind nginx on `ports`. */
export async function checkDevRegions(args: string[], ports: [number, number] = [8081, 8082]): Promise<void> {
  build();
  const child = spawn(process.execPath, [join(ROOT, 'scripts/dev-regions.mjs'), ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out: string[] = [];
  // Whole lines only: a chunk of a pipe may end in the middle of one.
  const lines = (stream: NodeJS.ReadableStream): void => {
    let buf = '';
    stream.on('data', (d: Buffer) => {
      buf += d.toString();
      const parts = buf.split('\n');
      buf = parts.pop() ?? '';
      out.push(...parts);
    });
  };
  lines(child.stdout);
  lines(child.stderr);
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const [pa, pb] = ports;
  try {
    await waitFor(
      // The last line it prints: the URLs (and the token) come in writes of their own before it.
      () => out.some((l) => l.includes('dev:regions: Ctrl-C stops everything')) || child.exitCode !== null,
      180_000,
      'dev:regions to be ready',
    );
    expect(child.exitCode, out.join('\n')).toBeNull();
    const token = /token=([\w.-]+)/.exec(
      out.find((l) => l.includes(`region a: http://127.0.0.1:${pa}/?token=`)) ?? '',
    )?.[1];
    expect(token).toBeDefined();
    expect((await fetch(`http://127.0.0.1:${pb}/`)).headers.get('content-type')).toMatch(/text\/html/);

    const a = new WsgwClient({ url: `ws://127.0.0.1:${pa}/`, token });
    const b = new WsgwClient({ url: `ws://127.0.0.1:${pb}/`, token });
    const got: string[] = [];
    a.on('message', (m) => got.push(`a<${(m.data as { from: string }).from}`));
    b.on('message', (m) => got.push(`b<${(m.data as { from: string }).from}`));
    await Promise.all([a.connect(), b.connect()]);
    await Promise.all([a.subscribe('room:dev'), b.subscribe('room:dev')]);
    await a.publish('room:dev', { from: 'a' });
    await b.publish('room:dev', { from: 'b' });
    await waitFor(() => got.length >= 4, 30_000, 'messages across regions');
    expect(got.sort()).toEqual(['a<a', 'a<b', 'b<a', 'b<b']);
    a.close();
    b.close();
  } finally {
    child.kill('SIGINT');
  }
  expect(await exited).toBe(0);
  expect(out.some((l) => l.includes('dev:regions: stopped'))).toBe(true);
}
