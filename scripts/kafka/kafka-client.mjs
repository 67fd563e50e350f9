// What the scripts ask of a running Kafka, through kafkajs (a project dependency): is a broker
// really serving, create a topic, has a record crossed MirrorMaker. kafkajs is loaded on first use,
// so that the command line's fetch, status and stop do without it.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { tail } from './processes.mjs';

/** @import { Consumer } from 'kafkajs' */

/**
 * @typedef {object} ClusterAddress
 * @property {string} name       cluster alias, as MirrorMaker names it
 * @property {string[]} brokers  bootstrap list
 */

async function kafkajs() {
  const mod = await import('kafkajs');
  return mod.default ?? mod;
}

/**
 * Waits until the cluster answers a metadata request with all `count` brokers and an elected
 * controller, i.e. it is really serving clients, not just listening.
 * @param {string[]} brokers
 * @param {object} opts
 * @param {number} opts.timeoutMs
 * @param {() => boolean} opts.isDead   stops waiting: the broker died or the start was aborted
 * @param {() => string} opts.logFile   the log to quote when giving up
 * @param {number} [opts.count]         brokers the cluster must report
 */
export async function waitBrokerReady(brokers, { timeoutMs, isDead, logFile, count = 1 }) {
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
  throw new Error(
    `broker ${brokers.join(',')} not ready within ${timeoutMs} ms (${lastErr instanceof Error ? lastErr.message : 'no answer'}); last log lines:\n${tail(logFile())}`,
  );
}

/**
 * @param {string[]} brokers
 * @param {string} topic
 */
export async function createTopic(brokers, topic, partitions = 1) {
  const { Kafka, logLevel } = await kafkajs();
  const admin = new Kafka({ clientId: 'wsgw-kafka-setup', brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }],
      waitForLeaders: true,
    });
  } finally {
    await admin.disconnect();
  }
}

/**
 * Writes a marker record to `topic` on `src` and waits until it shows up in `<src.name>.<topic>`
 * on `dst`. The marker's key is not a channel anyone subscribes to, so gateways skip it without
 * decoding.
 * @param {ClusterAddress} src
 * @param {ClusterAddress} dst
 * @param {string} topic
 * @param {object} opts
 * @param {number} opts.deadline       epoch ms
 * @param {() => boolean} opts.isDead  stops waiting: MirrorMaker died or the start was aborted
 * @param {string} opts.log            MirrorMaker's log, quoted when giving up
 */
export async function waitReplicated(src, dst, topic, { deadline, isDead, log }) {
  const { Kafka, logLevel } = await kafkajs();
  const marker = `__wsgw.mm2.ready.${randomBytes(6).toString('hex')}`;
  const target = `${src.name}.${topic}`;
  const producer = new Kafka({
    clientId: 'wsgw-kafka-setup',
    brokers: src.brokers,
    logLevel: logLevel.NOTHING,
  }).producer();
  const dstKafka = new Kafka({
    clientId: 'wsgw-kafka-setup',
    brokers: dst.brokers,
    logLevel: logLevel.NOTHING,
  });
  const admin = dstKafka.admin();
  await producer.connect();
  await admin.connect();
  /** @type {Consumer | undefined} */
  let consumer;
  try {
    await producer.send({ topic, messages: [{ key: marker, value: 'ready' }] });
    while (!(await admin.listTopics()).includes(target)) {
      if (isDead()) throw new Error(`MirrorMaker exited; last log lines:\n${tail(log)}`);
      if (Date.now() > deadline)
        throw new Error(
          `MirrorMaker did not create ${target} on ${dst.name} in time; last log lines:\n${tail(log)}`,
        );
      await sleep(250);
    }
    // The replicated topic starts from the source's earliest offset, so the marker will arrive.
    // A const of its own: the callback below cannot see `consumer` narrowed.
    const reader = dstKafka.consumer({
      groupId: `wsgw-mm2-ready-${randomBytes(6).toString('hex')}`,
      maxWaitTimeInMs: 100,
    });
    consumer = reader;
    await reader.connect();
    await reader.subscribe({ topic: target, fromBeginning: true });
    /** @type {Promise<void>} */
    const arrived = new Promise((resolve, reject) => {
      const timer = setInterval(() => {
        if (isDead()) reject(new Error(`MirrorMaker exited; last log lines:\n${tail(log)}`));
        else if (Date.now() > deadline)
          reject(
            new Error(
              `no record replicated from ${src.name} to ${dst.name} in time; last log lines:\n${tail(log)}`,
            ),
          );
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
