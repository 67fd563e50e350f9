// What the command line started, found again through .kafka/run: the clusters it recorded, and
// stopping every process whose pid file is there. A later `status` or `stop` is a new process, so
// the files are all it has.
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { RUN_DIR } from './paths.mjs';
import { isAlive, terminate } from './processes.mjs';
import { say } from './say.mjs';

/** @import { ClusterRecord } from './cluster.mjs' */

/** Stops every process recorded under `runDir` (default .kafka/run): MirrorMaker first, then brokers. */
export async function stopAll(runDir = RUN_DIR) {
  if (!existsSync(runDir)) return;
  const entries = readdirSync(runDir);
  /** @param {string} entry */
  const stopEntry = async (entry) => {
    // A cluster with racks keeps its further brokers' pid files in node-<id>/; those go first.
    const dirs = readdirSync(join(runDir, entry))
      .filter((n) => /^node-\d+$/.test(n))
      .map((n) => join(entry, n));
    for (const dir of [...dirs, entry]) {
      for (const f of readdirSync(join(runDir, dir)).filter((n) => n.endsWith('.pid'))) {
        const pid = Number(readFileSync(join(runDir, dir, f), 'utf8'));
        if (isAlive(pid)) {
          say(`stopping ${dir} (pid ${pid})`);
          await terminate(pid);
        }
        rmSync(join(runDir, dir, f), { force: true });
      }
    }
  };
  // MirrorMaker first, so that it does not spend its shutdown retrying vanished brokers.
  await Promise.all(entries.filter((e) => e.startsWith('mm2-')).map(stopEntry));
  await Promise.all(entries.filter((e) => !e.startsWith('mm2-')).map(stopEntry));
}

/**
 * The clusters recorded under `runDir` (default .kafka/run), and whether each still runs.
 * @returns {Array<ClusterRecord & { pid: number, running: boolean }>}
 */
export function recordedClusters(runDir = RUN_DIR) {
  if (!existsSync(runDir)) return [];
  return readdirSync(runDir)
    .filter((e) => existsSync(join(runDir, e, 'cluster.json')))
    .map((e) => {
      const info = /** @type {ClusterRecord} */ (
        JSON.parse(readFileSync(join(runDir, e, 'cluster.json'), 'utf8'))
      );
      const pidFile = join(runDir, e, 'broker.pid');
      const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : 0;
      return { ...info, pid, running: pid > 0 && isAlive(pid) };
    });
}
