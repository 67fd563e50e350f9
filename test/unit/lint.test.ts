/**
 * The lint rules that keep every async entry point contained: a floating or misused promise must
 * fail `npm run lint` (and so CI). Checked against the real configuration, on code placed where
 * gateway code lives, so a configuration change that silently drops the rules fails here.
 */
import { describe, expect, it } from 'vitest';
import { ESLint } from 'eslint';
import { ROOT } from '../helpers/process.js';

const PROBE = `
async function work(): Promise<void> {}
export function entry(): void {
  work();                                   // floating
  void work();                              // voided is still floating: nothing handles a rejection
  setTimeout(async () => { await work(); }, 1); // a promise where a callback returns nothing
  work().catch(() => undefined);            // handled: fine
}
`;

describe('lint', () => {
  it('refuses floating and misused promises in services/', async () => {
    const eslint = new ESLint({ cwd: ROOT });
    const [result] = await eslint.lintText(PROBE, { filePath: `${ROOT}/services/gateway/src/emf.ts` });
    const found = result!.messages.map((m) => `${m.line}:${m.ruleId}`);
    expect(found).toEqual([
      '4:@typescript-eslint/no-floating-promises',
      '5:@typescript-eslint/no-floating-promises',
      '6:@typescript-eslint/no-misused-promises',
    ]);
  }, 60_000);
});
