/**
 * README's configuration table is what operators read: it must name every variable the gateway
 * reads, and state the default `loadConfig` really uses. Both come from one place in the code
 * (`ENV` and `DEFAULTS`), so the table is checked against them.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULTS } from '../../services/gateway/src/config.js';
import { ENV } from '../../services/shared/src/constants.js';
import { ROOT } from '../helpers/process.js';

/** variable -> its default cell (split where one row names several variables). */
function readmeTable(): Map<string, string> {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('| variable | default | meaning |');
  const rows = readme.slice(start).split('\n\n', 1)[0]!.split('\n').slice(2);
  const out = new Map<string, string>();
  for (const row of rows) {
    // Cells are split on '|' that is not inside backquotes (no cell in this table has one).
    const [, vars, defaults] = row.split('|').map((c) => c.trim());
    const names = [...(vars ?? '').matchAll(/`([A-Z_]+)`/g)].map((m) => m[1]!);
    const values = names.length > 1 ? (defaults ?? '').split(', ') : [defaults ?? ''];
    names.forEach((n, i) => out.set(n, (values[i] ?? '').replace(/`/g, '').trim()));
  }
  return out;
}

describe('README configuration table', () => {
  const table = readmeTable();

  it('names every variable the gateway reads, and no other', () => {
    const read = Object.values(ENV).filter((v) => v !== ENV.awsRegion); // AWS's own, documented with msk-iam
    expect([...table.keys()].sort()).toEqual([...read].sort());
  });

  it('states the default loadConfig uses for every setting with a fixed default', () => {
    for (const [variable, value] of Object.entries(DEFAULTS)) {
      expect(table.get(variable), variable).toBe(String(value));
    }
  });
});
