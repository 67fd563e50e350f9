// Running a Kafka cluster on loopback: KRaft, storage formatted fresh on each start, one node that
// is broker and controller, or one broker per rack.
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fetchKafka } from './fetch-kafka.mjs';
import { freePort } from './free-port.mjs';
import { jvmOptions } from './jvm.mjs';
import { waitBrokerReady } from './kafka-client.mjs';
import { RUN_DIR } from './paths.mjs';
import { requireJava } from './prerequisites.mjs';
import { run, spawnJava, startWatchdog, terminate } from './processes.mjs';

/** @import { ChildProcess } from 'node:child_process' */
/** @import { JavaProcess } from './processes.mjs' */

/**
 * @typedef {object} ClusterOptions
 * @property {string} name          cluster alias (a, b, …); also the MirrorMaker cluster alias
 * @property {string} [dir]         state directory (default .kafka/run/<name>)
 * @property {number} [port]        client port on 127.0.0.1 (default: a free port)
 * @property {number} [controllerPort] KRaft controller port (default: a free port)
 * @property {string} [heap]        JVM max heap (default 384m)
 * @property {number} [partitions]  default partitions of auto-created topics (default 1)
 * @property {number} [owner]       pid whose death stops this broker (watchdog)
 * @property {number} [timeoutMs]   how long to wait for readiness (default 90 s)
 * @property {boolean} [fastStart]  C1-only JIT: starts faster, runs slower (default true; false for benchmarks)
 * @property {AbortSignal} [signal] aborts the start: the broker is killed and the promise rejects
 * @property {string[]} [racks]     one broker per rack (`broker.rack`), with rack-aware replica
 *   selection; topics default to min(racks, 3) replicas. Default: one broker without a rack
 * @property {number} [replicaFetchWaitMs] with racks, `replica.fetch.wait.max.ms` (default 10; Kafka's own is 500)
 */

/**
 * @typedef {object} Cluster
 * @property {string} name
 * @property {string[]} brokers    bootstrap list, e.g. ['127.0.0.1:19092']
 * @property {number} pid
 * @property {string} dir
 * @property {string} log
 * @property {() => Promise<void>} stop     clean shutdown (SIGTERM), data kept
 * @property {() => Promise<void>} kill     abrupt death (SIGKILL), data kept
 * @property {() => Promise<void>} restart  start again on the same ports and data, wait until ready
 */

/**
 * What `startCluster` writes to <dir>/cluster.json, for the command line's `status` and `mm2`.
 * @typedef {object} ClusterRecord
 * @property {string} name
 * @property {string[]} brokers
 * @property {number} port
 * @property {number} controllerPort
 * @property {string[]} [racks]
 */

/**
 * Formats storage (fresh each time) and starts one KRaft cluster on loopback: a single node, or one
 * broker per rack with `racks`; resolves when every broker serves.
 * @param {ClusterOptions} opts
 * @returns {Promise<Cluster>}
 */
export async function startCluster(opts) {
  const cp = fetchKafka({ quiet: true });
  requireJava();
  const name = opts.name;
  const dir = opts.dir ?? join(RUN_DIR, name);
  const port = opts.port ?? (await freePort());
  const controllerPort = opts.controllerPort ?? (await freePort());
  const heap = opts.heap ?? '384m';
  const timeoutMs = opts.timeoutMs ?? 90_000;
  const racks = opts.racks;
  if (racks !== undefined && (racks.length === 0 || racks.some((r) => !/^[A-Za-z0-9._-]{1,64}$/.test(r)))) {
    throw new Error(`racks of cluster ${name} must be a non-empty list of names (A-Z a-z 0-9 . _ -)`);
  }
  rmSync(dir, { recursive: true, force: true });
  // Node 1 is the controller and a broker; further nodes (one per extra rack) are brokers only.
  /** @type {Array<{ id: number, dir: string, props: string, port: number }>} */
  const nodes = [];
  const replication = Math.min(racks?.length ?? 1, 3);
  for (let i = 0; i < (racks?.length ?? 1); i++) {
    const id = i + 1;
    const nodeDir = i === 0 ? dir : join(dir, `node-${id}`);
    mkdirSync(join(nodeDir, 'data'), { recursive: true });
    const props = join(nodeDir, 'server.properties');
    const nodePort = i === 0 ? port : await freePort();
    writeFileSync(
      props,
      serverProperties({
        id,
        port: nodePort,
        controllerPort,
        dataDir: join(nodeDir, 'data'),
        partitions: opts.partitions ?? 1,
        rack: racks?.[i],
        replication,
        replicaWaitMs: opts.replicaFetchWaitMs ?? 10,
      }),
    );
    nodes.push({ id, dir: nodeDir, props, port: nodePort });
  }
  const jvm = jvmOptions(dir, { classpath: cp, heap, fastStart: opts.fastStart !== false });

  // A base64url id may begin with '-', which the storage tool's argument parser takes for an
  // option (about 1 start in 64 failed so); Kafka's own Uuid.randomUuid() avoids such ids too.
  let clusterId;
  do clusterId = randomBytes(16).toString('base64url');
  while (clusterId.startsWith('-'));
  // Asynchronous, so that a host process (the vitest main process) is not blocked meanwhile.
  for (const node of nodes) {
    const how = node.id === 1 ? ['--standalone'] : [];
    const fmt = await run('java', [
      ...jvm,
      'kafka.tools.StorageTool',
      'format',
      ...how,
      '-t',
      clusterId,
      '-c',
      node.props,
    ]);
    if (fmt.code !== 0)
      throw new Error(`formatting storage of cluster ${name} (node ${node.id}) failed:\n${fmt.output}`);
  }
  const aborted = () => opts.signal?.aborted === true;
  if (aborted()) throw new Error(`start of cluster ${name} aborted`);

  const brokers = nodes.map((n) => `127.0.0.1:${n.port}`);
  /** @type {ClusterRecord} */
  const record = { name, brokers, port, controllerPort, racks };
  writeFileSync(join(dir, 'cluster.json'), JSON.stringify(record, null, 2));

  /** @type {JavaProcess[]} */
  let procs = [];
  /** @type {ChildProcess | undefined} */
  let watchdog;
  // The controller (node 1) is always there once launched: its process and log stand for the cluster.
  const controller = () => {
    const p = procs[0];
    if (!p) throw new Error(`cluster ${name} has not been launched`);
    return p;
  };
  const launch = async () => {
    procs = nodes.map((n) => spawnJava(n.dir, 'broker', [...jvm, 'kafka.Kafka', n.props]));
    if (opts.owner)
      watchdog = startWatchdog(
        opts.owner,
        procs.map((p) => p.pid),
      );
    await waitBrokerReady(brokers, {
      timeoutMs,
      count: nodes.length,
      isDead: () => procs.some((p) => p.exited()) || aborted(),
      // The log of a broker that died, else the controller's.
      logFile: () => (procs.find((p) => p.exited()) ?? controller()).log,
    });
  };
  /** @param {NodeJS.Signals} signal */
  const halt = async (signal) => {
    // Brokers first, the controller last, so that brokers can deregister cleanly.
    for (const p of [...procs].reverse()) await terminate(p.pid, { signal, child: p.child });
    if (watchdog) await terminate(watchdog.pid, { timeoutMs: 2000 });
  };
  try {
    await launch();
  } catch (err) {
    await halt('SIGKILL');
    throw err;
  }
  /** @type {Cluster} */
  const cluster = {
    name,
    brokers,
    get pid() {
      return controller().pid;
    },
    dir,
    get log() {
      return controller().log;
    },
    stop: () => halt('SIGTERM'),
    kill: () => halt('SIGKILL'),
    restart: async () => {
      await halt('SIGTERM');
      await launch();
    },
  };
  return cluster;
}

/**
 * server.properties of one KRaft node; node 1 is also the controller.
 * @param {object} node
 * @param {number} node.id
 * @param {number} node.port            client port
 * @param {number} node.controllerPort
 * @param {string} node.dataDir
 * @param {number} node.partitions      default partitions of auto-created topics
 * @param {string | undefined} node.rack
 * @param {number} node.replication     default replication factor
 * @param {number} node.replicaWaitMs   replica.fetch.wait.max.ms, with a rack
 */
function serverProperties({
  id,
  port,
  controllerPort,
  dataDir,
  partitions,
  rack,
  replication,
  replicaWaitMs,
}) {
  const controller = id === 1;
  const listeners = controller
    ? `PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`
    : `PLAINTEXT://127.0.0.1:${port}`;
  // With racks, a leader lets consumers that name a rack (client.rack) fetch from an in-sync
  // replica in that rack (KIP-392), as MSK does with AZ ids. The short follower wait is what the
  // infrastructure sets with zone-local reads (infra/components/kafka-cluster.ts, ZONE_LOCAL_READS): a
  // follower serves a record only once a fetch from the leader told it the high watermark.
  const racked =
    rack === undefined
      ? ''
      : `broker.rack=${rack}\nreplica.selector.class=org.apache.kafka.common.replica.RackAwareReplicaSelector\nreplica.fetch.wait.max.ms=${replicaWaitMs}\n`;
  return `process.roles=${controller ? 'broker,controller' : 'broker'}
node.id=${id}
controller.quorum.bootstrap.servers=127.0.0.1:${controllerPort}
listeners=${listeners}
advertised.listeners=${listeners}
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=${dataDir}
num.partitions=${partitions}
default.replication.factor=${replication}
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=2
num.recovery.threads.per.data.dir=1
log.retention.hours=2
log.segment.bytes=16777216
${racked}`;
}
