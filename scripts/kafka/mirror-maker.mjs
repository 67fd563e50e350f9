// Running MirrorMaker 2 between two local clusters, both ways, so that each region's topic appears
// on the other cluster under the name the gateways read there (docs/kafka.md).
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fetchKafka } from './fetch-kafka.mjs';
import { jvmOptions } from './jvm.mjs';
import { createTopic, waitReplicated } from './kafka-client.mjs';
import { RUN_DIR } from './paths.mjs';
import { spawnJava, startWatchdog, terminate } from './processes.mjs';

/** @import { ClusterAddress } from './kafka-client.mjs' */

/** Origin topics that MirrorMaker replicates; replicated copies (`a.wsgw.fanout.a`) never match. */
export const DEFAULT_MM2_TOPICS = 'wsgw\\.fanout\\..*';

/**
 * @typedef {object} MirrorMakerOptions
 * @property {ClusterAddress[]} clusters  exactly two; replicated both ways
 * @property {string} [topics]     origin topic regex (default `wsgw\.fanout\..*`)
 * @property {string} [dir]        state directory (default .kafka/run/mm2-<a>-<b>)
 * @property {string} [heap]       JVM max heap (default 384m)
 * @property {number} [owner]      pid whose death stops MirrorMaker (watchdog)
 * @property {string} [topicPrefix] origin topic prefix (default `wsgw.fanout.`); `<prefix><alias>` is
 *   created on each cluster before MirrorMaker starts
 * @property {boolean} [wait]      wait until a record flows both ways (default true)
 * @property {number} [timeoutMs]  how long to wait for replication to flow (default 120 s)
 * @property {AbortSignal} [signal] aborts the start: MirrorMaker is killed and the promise rejects
 */

/**
 * @typedef {object} MirrorMaker
 * @property {number} pid
 * @property {string} dir
 * @property {string} log
 * @property {() => Promise<void>} stop  clean shutdown (SIGTERM)
 * @property {() => Promise<void>} kill  abrupt death (SIGKILL)
 */

/**
 * Starts MirrorMaker 2 (dedicated mode) replicating both ways between two clusters with the
 * DefaultReplicationPolicy: `wsgw.fanout.a` on a appears as `a.wsgw.fanout.a` on b. Only origin
 * topics matching `topics` are replicated; because the regex must match the whole name, a replicated
 * copy never matches and nothing loops. Resolves once a record written to each ready topic has
 * arrived on the other cluster.
 * @param {MirrorMakerOptions} opts
 * @returns {Promise<MirrorMaker>}
 */
export async function startMirrorMaker(opts) {
  const cp = fetchKafka({ quiet: true });
  const [a, b] = opts.clusters;
  if (!a || !b || opts.clusters.length !== 2)
    throw new TypeError('startMirrorMaker needs exactly two clusters');
  const topics = opts.topics ?? DEFAULT_MM2_TOPICS;
  const dir = opts.dir ?? join(RUN_DIR, `mm2-${a.name}-${b.name}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const props = join(dir, 'mm2.properties');
  writeFileSync(props, mm2Properties(a, b, topics));
  const jvm = jvmOptions(dir, { classpath: cp, heap: opts.heap ?? '384m', fastStart: true });
  const prefix = opts.topicPrefix ?? 'wsgw.fanout.';
  // Creating the origin topics before MirrorMaker starts lets its first topic scan find them.
  for (const c of [a, b]) await createTopic(c.brokers, `${prefix}${c.name}`);

  const proc = spawnJava(dir, 'mm2', [...jvm, 'org.apache.kafka.connect.mirror.MirrorMaker', props]);
  const watchdog = opts.owner ? startWatchdog(opts.owner, [proc.pid]) : undefined;
  /** @param {NodeJS.Signals} signal */
  const halt = async (signal) => {
    await terminate(proc.pid, { signal, child: proc.child, timeoutMs: 15_000 });
    if (watchdog) await terminate(watchdog.pid, { timeoutMs: 2000 });
  };
  const stop = () => halt('SIGTERM');
  const aborted = () => opts.signal?.aborted === true;
  const isDead = () => proc.exited() || aborted();
  try {
    const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
    if (opts.wait !== false) {
      await Promise.all([
        waitReplicated(a, b, `${prefix}${a.name}`, { deadline, isDead, log: proc.log }),
        waitReplicated(b, a, `${prefix}${b.name}`, { deadline, isDead, log: proc.log }),
      ]);
    }
  } catch (err) {
    await halt(aborted() ? 'SIGKILL' : 'SIGTERM');
    throw err;
  }
  return { pid: proc.pid, dir, log: proc.log, stop, kill: () => halt('SIGKILL') };
}

/**
 * mm2.properties: both directions between `a` and `b`, origin topics matching `topics`.
 * @param {ClusterAddress} a
 * @param {ClusterAddress} b
 * @param {string} topics
 */
function mm2Properties(a, b, topics) {
  const flows = [`${a.name}->${b.name}`, `${b.name}->${a.name}`];
  return `clusters = ${a.name}, ${b.name}
${a.name}.bootstrap.servers = ${a.brokers.join(',')}
${b.name}.bootstrap.servers = ${b.brokers.join(',')}
${flows.map((f) => `${f}.enabled = true\n${f}.topics = ${topics}`).join('\n')}
plugin.discovery = service_load
replication.policy.class = org.apache.kafka.connect.mirror.DefaultReplicationPolicy
topics.exclude = .*\\.internal, .*\\.replica, __.*, heartbeats

replication.factor = 1
offset-syncs.topic.replication.factor = 1
heartbeats.topic.replication.factor = 1
checkpoints.topic.replication.factor = 1
offset.storage.replication.factor = 1
config.storage.replication.factor = 1
status.storage.replication.factor = 1

# find new origin topics within seconds (default 600 s)
refresh.topics.interval.seconds = 2
refresh.groups.interval.seconds = 30
sync.topic.configs.enabled = false
sync.topic.acls.enabled = false
emit.heartbeats.enabled = false
emit.checkpoints.interval.seconds = 60
sync.group.offsets.enabled = false
# forward records as they arrive
producer.override.linger.ms = 0
${flows.map((f) => `${f}.producer.linger.ms = 0\n${f}.consumer.fetch.max.wait.ms = 100`).join('\n')}
`;
}
