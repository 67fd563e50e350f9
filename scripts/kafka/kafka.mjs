#!/usr/bin/env node
/**
 * Local Apache Kafka from the command line: single-node KRaft clusters on 127.0.0.1 and
 * MirrorMaker 2 between them, run from jars fetched from Maven Central (scripts/kafka/pom.xml).
 *
 *   node scripts/kafka/kafka.mjs fetch                  download the jars into .kafka/lib (cached)
 *   node scripts/kafka/kafka.mjs start a b              start clusters a (19092) and b (29092), wait until ready
 *   node scripts/kafka/kafka.mjs mm2 a b                MirrorMaker 2 between a and b, both ways
 *   node scripts/kafka/kafka.mjs status                 list what runs and where
 *   node scripts/kafka/kafka.mjs stop                   stop everything started by `start` / `mm2`
 *
 * Programs (the vitest global setup, `npm run dev:regions`, the benchmarks) import the same
 * functions from scripts/kafka/index.mjs instead.
 *
 * Processes started from the command line are detached and recorded under .kafka/run/<name>/ so
 * that a later `stop` finds them.
 *
 * Java 17 and Maven must be installed (scripts/kafka/install-prereqs.sh installs both with apt-get).
 */
import { startCluster } from './cluster.mjs';
import { fetchKafka } from './fetch-kafka.mjs';
import { startMirrorMaker } from './mirror-maker.mjs';
import { LIB_DIR } from './paths.mjs';
import { recordedClusters, stopAll } from './run-dir.mjs';
import { say } from './say.mjs';

/**
 * Fixed ports for the command line, so that a cluster started by hand is found where the docs
 * say: a on 19092, b on 29092, …
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
      if (running.length > 0)
        throw new Error(`already running: ${running.map((c) => c.name).join(', ')}; run \`stop\` first`);
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
      for (const c of recordedClusters())
        process.stdout.write(
          `${c.name} ${c.brokers.join(',')} ${c.running ? `running (pid ${c.pid})` : 'stopped'}\n`,
        );
      return;
    case 'stop':
      await stopAll();
      return;
    default:
      process.stderr.write('usage: kafka.mjs fetch | start [name…] | mm2 [a b] | status | stop\n');
      process.exitCode = 2;
  }
}

main(process.argv.slice(2)).catch((err) => {
  say(err.message);
  process.exitCode = 1;
});
