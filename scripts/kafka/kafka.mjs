#!/usr/bin/env node
/**
 * Local Apache Kafka for tests and development: single-node KRaft clusters on 127.0.0.1 and
 * MirrorMaker 2 between them, run from jars fetched from Maven Central (scripts/kafka/pom.xml).
 *
 *   node scripts/kafka/kafka.mjs fetch                  download the jars into .kafka/lib (cached)
 *   node scripts/kafka/kafka.mjs start a b              start clusters a (19092) and b (29092), wait until ready
 *   node scripts/kafka/kafka.mjs mm2 a b                MirrorMaker 2 between a and b, both ways
 *   node scripts/kafka/kafka.mjs status                 list what runs and where
 *   node scripts/kafka/kafka.mjs stop                   stop everything started by `start` / `mm2`
 *
 * The same functions are exported for programs (the vitest global setup, `npm run dev:regions`):
 * {@link fetchKafka}, {@link startCluster}, {@link startMirrorMaker}, {@link stopAll}.
 *
 * Processes started from the command line are detached and recorded under .kafka/run/<name>/ so
 * that a later `stop` finds them. Processes started by a program with `owner: process.pid` are
 * watched by scripts/kafka/watchdog.mjs, which stops them if that program dies without cleaning up.
 *
 * Java 17 and Maven must be installed (scripts/kafka/install-prereqs.sh installs both with apt-get).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

/** @import { ChildProcess } from 'node:child_process' */
/** @import { Consumer } from 'kafkajs' */

const here = dirname(fileURLToPath(import.meta.url));
/** The repository root. */
export const ROOT = join(here, '..', '..');
/** Cache and state directory (gitignored). */
export const KAFKA_DIR = join(ROOT, '.kafka');
const LIB_DIR = join(KAFKA_DIR, 'lib');
const POM = join(here, 'pom.xml');
/** State of processes started from the command line. */
export const RUN_DIR = join(KAFKA_DIR, 'run');

/** Origin topics that MirrorMaker replicates; replicated copies (`a.wsgw.fanout.a`) never match. */
export const DEFAULT_MM2_TOPICS = 'wsgw\\.fanout\\..*';

const JVM_BASE = [
  '-XX:+UseSerialGC', // one small heap, two cores: the cheapest collector to start and run
  '-Xss512k',
  '-Djava.awt.headless=true',
];
// C1 only: JVM start-up dominates test time and peak speed does not matter there. Benchmarks turn it off.
const FAST_START = ['-XX:TieredStopAtLevel=1'];

const LOG4J2 = `status = warn
appender.err.type = Console
appender.err.name = STDERR
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.err.ref = STDERR
logger.ready.name = kafka.server.KafkaRaftServer
logger.ready.level = INFO
logger.mm2.name = org.apache.kafka.connect.mirror.MirrorMaker
logger.mm2.level = INFO
`;

/** @param {string} msg */
const say = (msg) => process.stderr.write(`kafka: ${msg}\n`);

// ---------------------------------------------------------------------------------------------
// Fetching the jars

function pomStamp() {
  return createHash('sha256').update(readFileSync(POM)).digest('hex');
}

/**
 * Makes sure the Kafka jars are in .kafka/lib; runs Maven only when they are missing or the pom
 * changed. Returns the classpath (a JVM wildcard).
 * @param {{ quiet?: boolean }} [opts]
 */
export function fetchKafka(opts = {}) {
  const stampFile = join(LIB_DIR, '.stamp');
  const stamp = pomStamp();
  if (existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp) return join(LIB_DIR, '*');
  requireTool('mvn', ['-v'], 'Maven');
  requireJava();
  if (!opts.quiet) say('fetching Apache Kafka jars from Maven Central into .kafka/lib');
  rmSync(LIB_DIR, { recursive: true, force: true });
  mkdirSync(LIB_DIR, { recursive: true });
  const r = spawnSync(
    'mvn',
    [
      '-B', '-q', '-Dstyle.color=never', '-f', POM,
      'org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies',
      '-DincludeScope=runtime', `-DoutputDirectory=${LIB_DIR}`,
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`mvn copy-dependencies failed (exit code ${r.status}):\n${r.stdout}${r.stderr}`);
  const jars = readdirSync(LIB_DIR);
  const slf4j = jars.filter((j) => /^slf4j-api-/.test(j));
  if (slf4j.length !== 1 || jars.some((j) => /_2\.12-|logback|log4j-slf4j2-impl/.test(j))) {
    throw new Error(`unexpected jar set in .kafka/lib: ${jars.join(' ')}`);
  }
  writeFileSync(stampFile, stamp);
  return join(LIB_DIR, '*');
}

/**
 * Runs a command to completion without blocking the event loop; resolves with its exit code and output.
 * @param {string} cmd
 * @param {string[]} args
 * @returns {Promise<{ code: number | null, output: string }>}
 */
function run(cmd, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

/**
 * Runs `cmd args` and returns its output; throws naming `what` when the tool is missing or fails.
 * @param {string} cmd
 * @param {string[]} args
 * @param {string} what
 */
function requireTool(cmd, args, what) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new Error(`${what} is required (\`${cmd}\` not found); run scripts/kafka/install-prereqs.sh`);
  }
  return `${r.stdout}${r.stderr}`;
}

function requireJava() {
  const out = requireTool('java', ['-version'], 'Java 17 or newer');
  const m = /version "(\d+)/.exec(out);
  if (!m || Number(m[1]) < 17) throw new Error(`Java 17 or newer is required, found: ${out.split('\n')[0]}`);
}

// ---------------------------------------------------------------------------------------------
// Processes

/**
 * A free TCP port on 127.0.0.1 (the kernel picks; a small race with other programs remains).
 * @returns {Promise<number>}
 */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (srv.address());
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Whether a process exists; EPERM means it does but belongs to someone else.
 * @param {number} pid
 */
function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return /** @type {NodeJS.ErrnoException} */ (err).code === 'EPERM';
  }
}

/**
 * The last lines of a log file, or '' when it cannot be read.
 * @param {string} file
 */
function tail(file, lines = 30) {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/**
 * @typedef {object} JavaProcess
 * @property {ChildProcess} child
 * @property {number} pid
 * @property {string} log     file that receives its stdout and stderr
 * @property {() => boolean} exited
 */

/**
 * Spawns a JVM with its output going to `log`; records its pid in `<dir>/<name>.pid`.
 * The process gets its own process group (detached) so that Ctrl-C in a terminal running tests
 * does not kill it half-way; the watchdog or `stop` ends it.
 * @param {string} dir
 * @param {string} name
 * @param {string[]} javaArgs
 * @returns {JavaProcess}
 */
function spawnJava(dir, name, javaArgs) {
  const log = join(dir, `${name}.log`);
  const fd = openSync(log, 'a');
  const child = spawn('java', javaArgs, { detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const pid = child.pid;
  // No pid means the spawn itself failed (java was checked beforehand, so: out of processes or memory).
  if (pid === undefined) throw new Error(`could not start java for ${name} in ${dir}`);
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  child.unref();
  writeFileSync(join(dir, `${name}.pid`), String(pid));
  return { child, pid, log, exited: () => exited || !isAlive(pid) };
}

/**
 * Sends SIGTERM (or `signal`), waits up to `timeoutMs` for the process to go, then SIGKILLs it.
 * With `child`, its exit event decides, so that a zombie not yet reaped does not count as alive.
 * @param {number | undefined} pid
 * @param {{ signal?: NodeJS.Signals, timeoutMs?: number, child?: ChildProcess }} [opts]
 */
async function terminate(pid, { signal = 'SIGTERM', timeoutMs = 20_000, child } = {}) {
  if (!pid || !isAlive(pid)) return;
  const gone = () => (child ? child.exitCode !== null || child.signalCode !== null : !isAlive(pid));
  try {
    process.kill(pid, signal);
  } catch {
    return;
  }
  const deadline = Date.now() + timeoutMs;
  while (!gone() && Date.now() < deadline) await sleep(50);
  if (!gone()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      return;
    }
    while (!gone()) await sleep(50);
  }
}

/**
 * Starts scripts/kafka/watchdog.mjs, detached, to end `pids` once `owner` is gone.
 * @param {number} owner
 * @param {number[]} pids
 */
function startWatchdog(owner, pids) {
  const w = spawn(process.execPath, [join(here, 'watchdog.mjs'), String(owner), ...pids.map(String)], {
    detached: true,
    stdio: 'ignore',
  });
  w.unref();
  return w;
}

// ---------------------------------------------------------------------------------------------
// Kafka admin polling (kafkajs is a project dependency)

async function kafkajs() {
  const mod = await import('kafkajs');
  return mod.default ?? mod;
}

/**
 * Waits until the broker answers a metadata request and can create a topic, i.e. it is really
 * serving clients, not just listening.
 * @param {string[]} brokers
 * @param {object} opts
 * @param {number} opts.timeoutMs
 * @param {() => boolean} opts.isDead   stops waiting: the broker died or the start was aborted
 * @param {() => string} opts.logFile   the log to quote when giving up
 * @param {number} [opts.count]         brokers the cluster must report
 */
async function waitBrokerReady(brokers, { timeoutMs, isDead, logFile, count = 1 }) {
  const { Kafka, logLevel } = await kafkajs();
  const deadline = Date.now() + timeoutMs;
  /** @type {unknown} */
  let lastErr;
  while (Date.now() < deadline) {
    if (isDead()) throw new Error(`broker exited during start-up; last log lines:\n${tail(logFile())}`);
    const admin = new Kafka({
      clientId: 'wsgw-kafka-ready',
      brokers,
      logLevel: logLevel.NOTHING,
      connectionTimeout: 1000,
      requestTimeout: 2000,
      retry: { retries: 0 },
    }).admin();
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      if (cluster.brokers.length >= count && cluster.controller !== null && cluster.controller !== -1) return;
    } catch (err) {
      lastErr = err;
    } finally {
      await admin.disconnect().catch(() => {});
    }
    await sleep(200);
  }
  throw new Error(`broker ${brokers.join(',')} not ready within ${timeoutMs} ms (${lastErr instanceof Error ? lastErr.message : 'no answer'}); last log lines:\n${tail(logFile())}`);
}

// ---------------------------------------------------------------------------------------------
// Clusters

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
  writeFileSync(join(dir, 'log4j2.properties'), LOG4J2);
  const jvm = [...JVM_BASE, ...(opts.fastStart === false ? [] : FAST_START), `-Xms64m`, `-Xmx${heap}`, `-Dlog4j2.configurationFile=${join(dir, 'log4j2.properties')}`, '-cp', cp];

  const clusterId = randomBytes(16).toString('base64url');
  // Asynchronous, so that a host process (the vitest main process) is not blocked meanwhile.
  for (const node of nodes) {
    const how = node.id === 1 ? ['--standalone'] : [];
    const fmt = await run('java', [...jvm, 'kafka.tools.StorageTool', 'format', ...how, '-t', clusterId, '-c', node.props]);
    if (fmt.code !== 0) throw new Error(`formatting storage of cluster ${name} (node ${node.id}) failed:\n${fmt.output}`);
  }
  const aborted = () => opts.signal?.aborted === true;
  if (aborted()) throw new Error(`start of cluster ${name} aborted`);

  const brokers = nodes.map((n) => `127.0.0.1:${n.port}`);
  writeFileSync(join(dir, 'cluster.json'), JSON.stringify({ name, brokers, port, controllerPort, racks }, null, 2));

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
    if (opts.owner) watchdog = startWatchdog(opts.owner, procs.map((p) => p.pid));
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
function serverProperties({ id, port, controllerPort, dataDir, partitions, rack, replication, replicaWaitMs }) {
  const controller = id === 1;
  const listeners = controller ? `PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}` : `PLAINTEXT://127.0.0.1:${port}`;
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

// ---------------------------------------------------------------------------------------------
// MirrorMaker 2

/**
 * @typedef {object} ClusterAddress
 * @property {string} name       cluster alias, as MirrorMaker names it
 * @property {string[]} brokers  bootstrap list
 */

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
  if (!a || !b || opts.clusters.length !== 2) throw new TypeError('startMirrorMaker needs exactly two clusters');
  const topics = opts.topics ?? DEFAULT_MM2_TOPICS;
  const dir = opts.dir ?? join(RUN_DIR, `mm2-${a.name}-${b.name}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const props = join(dir, 'mm2.properties');
  writeFileSync(props, mm2Properties(a, b, topics));
  writeFileSync(join(dir, 'log4j2.properties'), LOG4J2);
  const prefix = opts.topicPrefix ?? 'wsgw.fanout.';
  // Creating the origin topics before MirrorMaker starts lets its first topic scan find them.
  for (const c of [a, b]) await createTopic(c.brokers, `${prefix}${c.name}`);

  const jvm = [...JVM_BASE, ...FAST_START, '-Xms64m', `-Xmx${opts.heap ?? '384m'}`, `-Dlog4j2.configurationFile=${join(dir, 'log4j2.properties')}`, '-cp', cp];
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

/**
 * @param {string[]} brokers
 * @param {string} topic
 */
async function createTopic(brokers, topic, partitions = 1) {
  const { Kafka, logLevel } = await kafkajs();
  const admin = new Kafka({ clientId: 'wsgw-kafka-setup', brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}

/**
 * Writes a marker record to `topic` on `src` until a record with that marker shows up in
 * `<src.name>.<topic>` on `dst`. The marker's key is not a channel anyone subscribes to, so
 * gateways skip it without decoding.
 * @param {ClusterAddress} src
 * @param {ClusterAddress} dst
 * @param {string} topic
 * @param {object} opts
 * @param {number} opts.deadline       epoch ms
 * @param {() => boolean} opts.isDead  stops waiting: MirrorMaker died or the start was aborted
 * @param {string} opts.log            MirrorMaker's log, quoted when giving up
 */
async function waitReplicated(src, dst, topic, { deadline, isDead, log }) {
  const { Kafka, logLevel } = await kafkajs();
  const marker = `__wsgw.mm2.ready.${randomBytes(6).toString('hex')}`;
  const target = `${src.name}.${topic}`;
  const producer = new Kafka({ clientId: 'wsgw-kafka-setup', brokers: src.brokers, logLevel: logLevel.NOTHING }).producer();
  const dstKafka = new Kafka({ clientId: 'wsgw-kafka-setup', brokers: dst.brokers, logLevel: logLevel.NOTHING });
  const admin = dstKafka.admin();
  await producer.connect();
  await admin.connect();
  /** @type {Consumer | undefined} */
  let consumer;
  try {
    await producer.send({ topic, messages: [{ key: marker, value: 'ready' }] });
    while (!(await admin.listTopics()).includes(target)) {
      if (isDead()) throw new Error(`MirrorMaker exited; last log lines:\n${tail(log)}`);
      if (Date.now() > deadline) throw new Error(`MirrorMaker did not create ${target} on ${dst.name} in time; last log lines:\n${tail(log)}`);
      await sleep(250);
    }
    // The replicated topic starts from the source's earliest offset, so the marker will arrive.
    // A const of its own: the callback below cannot see `consumer` narrowed.
    const reader = dstKafka.consumer({ groupId: `wsgw-mm2-ready-${randomBytes(6).toString('hex')}`, maxWaitTimeInMs: 100 });
    consumer = reader;
    await reader.connect();
    await reader.subscribe({ topic: target, fromBeginning: true });
    /** @type {Promise<void>} */
    const arrived = new Promise((resolve, reject) => {
      const timer = setInterval(() => {
        if (isDead()) reject(new Error(`MirrorMaker exited; last log lines:\n${tail(log)}`));
        else if (Date.now() > deadline) reject(new Error(`no record replicated from ${src.name} to ${dst.name} in time; last log lines:\n${tail(log)}`));
      }, 250);
      reader
        .run({
          eachMessage: async ({ message }) => {
            if (message.key?.toString() === marker) {
              clearInterval(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
    await arrived;
  } finally {
    await consumer?.disconnect().catch(() => {});
    await producer.disconnect().catch(() => {});
    await admin.disconnect().catch(() => {});
  }
}

// ---------------------------------------------------------------------------------------------
// Stopping what the command line started

/** Stops every process recorded under `runDir` (default .kafka/run): MirrorMaker first, then brokers. */
export async function stopAll(runDir = RUN_DIR) {
  if (!existsSync(runDir)) return;
  const entries = readdirSync(runDir);
  /** @param {string} entry */
  const stopEntry = async (entry) => {
    // A cluster with racks keeps its further brokers' pid files in node-<id>/; those go first.
    const dirs = readdirSync(join(runDir, entry)).filter((n) => /^node-\d+$/.test(n)).map((n) => join(entry, n));
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
 * What `startCluster` wrote to <dir>/cluster.json.
 * @typedef {object} ClusterRecord
 * @property {string} name
 * @property {string[]} brokers
 * @property {number} port
 * @property {number} controllerPort
 * @property {string[]} [racks]
 */

/**
 * The clusters recorded under `runDir` (default .kafka/run), and whether each still runs.
 * @returns {Array<ClusterRecord & { pid: number, running: boolean }>}
 */
function recordedClusters(runDir = RUN_DIR) {
  if (!existsSync(runDir)) return [];
  return readdirSync(runDir)
    .filter((e) => existsSync(join(runDir, e, 'cluster.json')))
    .map((e) => {
      const info = /** @type {ClusterRecord} */ (JSON.parse(readFileSync(join(runDir, e, 'cluster.json'), 'utf8')));
      const pidFile = join(runDir, e, 'broker.pid');
      const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : 0;
      return { ...info, pid, running: pid > 0 && isAlive(pid) };
    });
}

// ---------------------------------------------------------------------------------------------
// Command line

/**
 * Fixed ports for the command line, so that `dev:regions` finds cluster a on 19092, b on 29092, …
 * @param {number} index
 */
function cliPorts(index) {
  return { port: 19092 + index * 10_000, controllerPort: 19093 + index * 10_000 };
}

/** @param {string[]} argv */
async function main(argv) {
  const [cmd, ...args] = argv;
  switch (cmd) {
    case 'fetch':
      fetchKafka();
      say(`jars ready in ${LIB_DIR}`);
      return;
    case 'start': {
      const names = args.length > 0 ? args : ['a'];
      if (names.length > 5) throw new Error('at most 5 clusters');
      fetchKafka();
      const running = recordedClusters().filter((c) => c.running);
      if (running.length > 0) throw new Error(`already running: ${running.map((c) => c.name).join(', ')}; run \`stop\` first`);
      const clusters = await Promise.all(names.map((name, i) => startCluster({ name, ...cliPorts(i) })));
      for (const c of clusters) process.stdout.write(`${c.name} ${c.brokers.join(',')}\n`);
      return;
    }
    case 'mm2': {
      const known = recordedClusters().filter((c) => c.running);
      /** @param {string} n */
      const pick = (n) => {
        const c = known.find((k) => k.name === n);
        if (!c) throw new Error(`cluster ${n} is not running; start it first`);
        return c;
      };
      const [x = 'a', y = 'b'] = args;
      const mm = await startMirrorMaker({ clusters: [pick(x), pick(y)] });
      process.stdout.write(`mm2 ${x}<->${y} pid ${mm.pid}\n`);
      return;
    }
    case 'status':
      for (const c of recordedClusters()) process.stdout.write(`${c.name} ${c.brokers.join(',')} ${c.running ? `running (pid ${c.pid})` : 'stopped'}\n`);
      return;
    case 'stop':
      await stopAll();
      return;
    default:
      process.stderr.write('usage: kafka.mjs fetch | start [name…] | mm2 [a b] | status | stop\n');
      process.exitCode = 2;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).catch((err) => {
    process.stderr.write(`kafka: ${err.message}\n`);
    process.exitCode = 1;
  });
}
