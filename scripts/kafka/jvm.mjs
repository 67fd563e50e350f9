// The JVM options that brokers and MirrorMaker share: sized for a small machine that also runs the
// tests, and logging only what tells whether the process came up.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

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

/**
 * Writes the log4j2 configuration into `dir` and returns the JVM options, ending in the classpath,
 * of a process whose state lives there.
 * @param {string} dir
 * @param {object} opts
 * @param {string} opts.classpath
 * @param {string} opts.heap        max heap, e.g. 384m
 * @param {boolean} opts.fastStart  C1-only JIT: starts faster, runs slower
 * @returns {string[]}
 */
export function jvmOptions(dir, { classpath, heap, fastStart }) {
  const log4j2 = join(dir, 'log4j2.properties');
  writeFileSync(log4j2, LOG4J2);
  return [
    ...JVM_BASE,
    ...(fastStart ? FAST_START : []),
    '-Xms64m',
    `-Xmx${heap}`,
    `-Dlog4j2.configurationFile=${log4j2}`,
    '-cp',
    classpath,
  ];
}
