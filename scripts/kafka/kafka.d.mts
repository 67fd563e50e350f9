// Types of scripts/kafka/kafka.mjs for TypeScript callers (vitest global setup, dev scripts).

export const ROOT: string;
export const KAFKA_DIR: string;
export const RUN_DIR: string;
export const DEFAULT_MM2_TOPICS: string;

/** Makes sure the Kafka jars are in .kafka/lib (runs Maven only when needed); returns the classpath. */
export function fetchKafka(opts?: { quiet?: boolean }): string;
/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number>;

export interface ClusterOptions {
  name: string;
  dir?: string;
  port?: number;
  controllerPort?: number;
  heap?: string;
  partitions?: number;
  owner?: number;
  timeoutMs?: number;
  /** C1-only JIT: starts faster, runs slower. Default true; benchmarks pass false. */
  fastStart?: boolean;
  /** Aborts the start: the broker is killed and the promise rejects. */
  signal?: AbortSignal;
  /**
   * One broker per rack (`broker.rack`), with rack-aware replica selection; topics default to
   * min(racks, 3) replicas. Default: one broker without a rack.
   */
  racks?: string[];
  /** With racks, the brokers' `replica.fetch.wait.max.ms`. Default 10 (Kafka's own default is 500). */
  replicaFetchWaitMs?: number;
}

export interface Cluster {
  readonly name: string;
  readonly brokers: string[];
  readonly pid: number;
  readonly dir: string;
  readonly log: string;
  /** Clean shutdown (SIGTERM); data kept. */
  stop(): Promise<void>;
  /** Abrupt death (SIGKILL); data kept. */
  kill(): Promise<void>;
  /** Starts again on the same ports and data; resolves when it serves. */
  restart(): Promise<void>;
}

export function startCluster(opts: ClusterOptions): Promise<Cluster>;

export interface MirrorMakerOptions {
  clusters: Array<{ name: string; brokers: string[] }>;
  topics?: string;
  dir?: string;
  heap?: string;
  owner?: number;
  topicPrefix?: string;
  wait?: boolean;
  timeoutMs?: number;
  /** Aborts the start: MirrorMaker is killed and the promise rejects. */
  signal?: AbortSignal;
}

export interface MirrorMaker {
  readonly pid: number;
  readonly dir: string;
  readonly log: string;
  /** Clean shutdown (SIGTERM). */
  stop(): Promise<void>;
  /** Abrupt death (SIGKILL). */
  kill(): Promise<void>;
}

export function startMirrorMaker(opts: MirrorMakerOptions): Promise<MirrorMaker>;
export function stopAll(runDir?: string): Promise<void>;
