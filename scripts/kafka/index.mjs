/**
 * Local Apache Kafka for programs (the vitest global setup, `npm run dev:regions`, the benchmarks):
 * single-node KRaft clusters on 127.0.0.1 and MirrorMaker 2 between them, run from jars fetched from
 * Maven Central. The command line, kafka.mjs, runs the same functions.
 *
 * Processes started with `owner: process.pid` are watched by watchdog.mjs, which stops them if that
 * program dies without cleaning up.
 *
 * One job per module:
 *   fetch-kafka.mjs    the jars, from Maven Central into .kafka/lib
 *   cluster.mjs        a KRaft cluster: one node, or one broker per rack
 *   mirror-maker.mjs   MirrorMaker 2 between two clusters, both ways
 *   kafka-client.mjs   readiness checks and topic creation through kafkajs
 *   processes.mjs      JVMs started detached, ended, and watched (watchdog.mjs)
 *   jvm.mjs            the JVM options and logging configuration
 *   run-dir.mjs        what the command line started, found again and stopped
 *   prerequisites.mjs  Java 17+ and Maven checks
 *   paths.mjs, free-port.mjs, say.mjs
 */
export { startCluster } from './cluster.mjs';
export { fetchKafka } from './fetch-kafka.mjs';
export { freePort } from './free-port.mjs';
export { DEFAULT_MM2_TOPICS, startMirrorMaker } from './mirror-maker.mjs';
export { KAFKA_DIR, ROOT, RUN_DIR } from './paths.mjs';
export { stopAll } from './run-dir.mjs';

/** @typedef {import('./cluster.mjs').ClusterOptions} ClusterOptions */
/** @typedef {import('./cluster.mjs').Cluster} Cluster */
/** @typedef {import('./mirror-maker.mjs').MirrorMakerOptions} MirrorMakerOptions */
/** @typedef {import('./mirror-maker.mjs').MirrorMaker} MirrorMaker */
/** @typedef {import('./kafka-client.mjs').ClusterAddress} ClusterAddress */
