#!/usr/bin/env node
// Bundles the client SDK for browsers (dist/client/wsgw-client.js, ESM); the gateway serves it at
// /wsgw-client.js for the demo page and for applications that load it without a build step.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');
await build({
  entryPoints: [join(root, 'services/client/src/client.ts')],
  outfile: join(root, 'dist/client/wsgw-client.js'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  // Only reached in Node, where the platform has no WebSocket; browsers never load it.
  external: ['ws'],
  logLevel: 'warning',
});
