/**
 * The SDK as its users get it: the package `npm pack` would publish (services/client), loaded
 * from its built files, talking to a real gateway.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT, build } from '../helpers/process.js';
import { startGateway, waitFor } from '../helpers/gateway.js';

beforeAll(() => build(), 120_000);

describe('@wsgw/client package', () => {
  it('packs the Node and browser builds with their types', () => {
    const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: join(ROOT, 'services/client'),
      encoding: 'utf8',
    });
    const [info] = JSON.parse(out) as Array<{ name: string; files: Array<{ path: string }> }>;
    expect(info!.name).toBe('@wsgw/client');
    const files = info!.files.map((f) => f.path);
    for (const f of [
      'package.json',
      'dist/wsgw-client.js',
      'dist/wsgw-client.browser.js',
      'dist/types/client/src/client.d.ts',
    ])
      expect(files).toContain(f);
    expect(files.some((f) => f.startsWith('src/'))).toBe(false);
  });

  it('works from its built Node entry point', async () => {
    const gw = await startGateway();
    const mod = (await import(
      pathToFileURL(join(ROOT, 'services/client/dist/wsgw-client.js')).href
    )) as typeof import('../../services/client/src/client.js');
    const client = new mod.WsgwClient({ url: gw.url });
    const got: unknown[] = [];
    client.on('message', (m) => got.push(m.data));
    await client.connect();
    await client.subscribe('pkg:1');
    await client.publish('pkg:1', { from: 'package' });
    await waitFor(() => got.length === 1);
    expect(got).toEqual([{ from: 'package' }]);
    client.close();
    await gw.stop();
  });
});
