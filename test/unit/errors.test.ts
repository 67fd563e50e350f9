/**
 * The error table is the one source of codes (services/shared/src/errors.ts), and docs/protocol.md
 * is what client writers read: the two must list the same codes, so that neither drifts.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ERRORS, type ErrorCode } from '../../services/shared/src/errors.js';
import { ROOT } from '../helpers/process.js';

const doc = readFileSync(join(ROOT, 'docs/protocol.md'), 'utf8');

/** The backquoted codes in the first column of the table under `heading`. */
function tableCodes(heading: string): string[] {
  const section = doc.slice(doc.indexOf(heading));
  const table = section.slice(section.indexOf('\n|'), section.indexOf('\n\n', section.indexOf('\n|') + 1));
  return table
    .split('\n')
    .filter((l) => l.startsWith('| `') || /^\| \d{3} \| `/.test(l))
    .flatMap((l) => {
      const cells = l.split('|').map((c) => c.trim());
      const cell = /^\d{3}$/.test(cells[1]!) ? cells[2]! : cells[1]!;
      return [...cell.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]!);
    });
}

const codes = (pick: (e: (typeof ERRORS)[ErrorCode]) => boolean) =>
  (Object.keys(ERRORS) as ErrorCode[]).filter((c) => pick(ERRORS[c])).sort();

describe('error codes', () => {
  it('docs/protocol.md lists exactly the codes a gateway sends in error frames', () => {
    expect(tableCodes('## Error codes').sort()).toEqual(codes((e) => 'frame' in e));
  });

  it('docs/protocol.md lists exactly the codes a refused upgrade answers with', () => {
    const upgrade = [
      'token_missing',
      'token_invalid',
      'token_expired',
      'auth_unavailable',
      'origin',
      'draining',
      'max_connections',
      'internal',
    ];
    expect(tableCodes('Upgrades are refused').sort()).toEqual(upgrade.sort());
    for (const c of upgrade) expect(ERRORS[c as ErrorCode]).toHaveProperty('status');
  });

  it("gives every code a message, and a status to every code that is not only a frame or the SDK's", () => {
    for (const [code, e] of Object.entries(ERRORS)) {
      expect(e.message.length, code).toBeGreaterThan(0);
      if (!('frame' in e) && !('sdk' in e)) expect(e, code).toHaveProperty('status');
    }
  });
});
