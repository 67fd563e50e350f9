// Java 17+ and Maven, which scripts/kafka/install-prereqs.sh installs. Checked before use, so that
// a missing tool fails with that hint instead of a bare spawn error.
import { spawnSync } from 'node:child_process';

/**
 * Runs `cmd args` and returns its output; throws naming `what` when the tool is missing or fails.
 * @param {string} cmd
 * @param {string[]} args
 * @param {string} what
 */
export function requireTool(cmd, args, what) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new Error(`${what} is required (\`${cmd}\` not found); run scripts/kafka/install-prereqs.sh`);
  }
  return `${r.stdout}${r.stderr}`;
}

export function requireJava() {
  const out = requireTool('java', ['-version'], 'Java 17 or newer');
  const m = /version "(\d+)/.exec(out);
  if (!m || Number(m[1]) < 17) throw new Error(`Java 17 or newer is required, found: ${out.split('\n')[0]}`);
}
