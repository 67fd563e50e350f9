/**
 * The rules for names that several parts of wsgw must agree on (the gateway's configuration, the
 * Kafka bus, direct-mode remotes, the infrastructure), each defined once. Channel names have their
 * own module (channel.ts).
 */
import { DEFAULT_STREAM_PREFIX, DEFAULT_TOPIC_PREFIX } from './constants.js';

/**
 * A region name. It names the region's Kafka topic and keys message positions on the wire
 * (docs/protocol.md), so it is short and plain: lower-case letters, digits and dashes, starting
 * with a letter or digit, at most 63 characters. AWS region names fit.
 */
export const REGION_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
export const REGION_NAME_RULE = 'lower-case letters, digits and dashes, at most 63 (e.g. eu-west-1)';

/** A Kafka topic prefix: characters Kafka allows in topic names, short enough to leave room for a region. */
export const TOPIC_PREFIX = /^[A-Za-z0-9._-]{1,200}$/;
export const TOPIC_PREFIX_RULE = '1-200 characters of A-Z a-z 0-9 . _ -';

/** A broker address: `host:port`. */
export const BROKER_ADDRESS = /^[A-Za-z0-9.-]+:\d{1,5}$/;
export const BROKER_ADDRESS_RULE = 'host:port';

/** The topic a region's gateways produce to. */
export function originTopic(region: string, prefix: string = DEFAULT_TOPIC_PREFIX): string {
  return `${prefix}${region}`;
}

/**
 * Reads a fan-out topic's origin from its name: the region's own topic (`<prefix><region>`) or a
 * replicated copy that MirrorMaker 2 names `<alias>.<prefix><region>`; undefined for any other topic.
 */
export function topicOrigin(prefix: string): (topic: string) => string | undefined {
  const re = new RegExp(
    `^(?:.+\\.)?${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}([a-z0-9][a-z0-9-]{0,62})$`,
  );
  return (topic) => re.exec(topic)?.[1];
}

/**
 * A Redis stream prefix: the same characters as a topic prefix, so that one prefix can name a
 * region's log on either bus.
 */
export const STREAM_PREFIX = TOPIC_PREFIX;
export const STREAM_PREFIX_RULE = TOPIC_PREFIX_RULE;

/**
 * The Redis stream a region's gateways append to, on that region's Redis: `<prefix><region>`, the
 * Kafka topic rule. One stream per origin is one key, so a Redis Cluster keeps it on one shard.
 */
export function originStream(region: string, prefix: string = DEFAULT_STREAM_PREFIX): string {
  return `${prefix}${region}`;
}

/**
 * Splits a per-region list, `<region>=<value>;<region>=<value>` (the remotes of either bus), checking
 * each region's name and that none appears twice. Throws `TypeError` on the first bad part, shown
 * through `show` (which may hide a password the value carries).
 */
export function splitByRegion(
  list: string,
  show: (part: string, value: string) => string = (part) => `"${part}"`,
): Array<{ readonly region: string; readonly value: string; readonly part: string }> {
  const out: Array<{ region: string; value: string; part: string }> = [];
  for (const part of list
    .split(';')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const eq = part.indexOf('=');
    const region = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (eq < 1 || !REGION_NAME.test(region))
      throw new TypeError(`${show(part, value)} does not start with <region>=`);
    if (out.some((r) => r.region === region)) throw new TypeError(`region ${region} appears twice`);
    out.push({ region, value, part });
  }
  return out;
}
