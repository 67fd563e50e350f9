#!/usr/bin/env node
// Builds the client SDK (services/client) in its publishable form, `npm pack` ready:
//   services/client/dist/wsgw-client.js          ESM for Node (imports `ws`, a peer dependency)
//   services/client/dist/wsgw-client.browser.js  ESM for browsers (also served by the gateway at /wsgw-client.js)
//   services/client/dist/types/                  declarations
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');
const pkg = join(root, 'services/client');
// Typed, so that the literals below keep their narrow types (format 'esm', not any string).
/** @type {import('esbuild').BuildOptions} */
const common = {
  entryPoints: [join(pkg, 'src/client.ts')],
  bundle: true,
  format: 'esm',
  target: 'es2022',
  sourcemap: true,
  // Only reached in Node, where the platform has no WebSocket; browsers never load it.
  external: ['ws'],
  logLevel: 'warning',
};
await build({ ...common, platform: 'node', outfile: join(pkg, 'dist/wsgw-client.js') });
await build({
  ...common,
  platform: 'browser',
  minify: true,
  outfile: join(pkg, 'dist/wsgw-client.browser.js'),
});
execFileSync(
  process.execPath,
  [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(pkg, 'tsconfig.json')],
  { stdio: 'inherit' },
);
// The gateway serves the browser build next to its compiled code.
mkdirSync(join(root, 'dist/client'), { recursive: true });
copyFileSync(join(pkg, 'dist/wsgw-client.browser.js'), join(root, 'dist/client/wsgw-client.js'));
