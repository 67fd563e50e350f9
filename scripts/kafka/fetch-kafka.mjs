// Fetching Apache Kafka: Maven copies the runtime closure of scripts/kafka/pom.xml from Maven
// Central into .kafka/lib, once per version of the pom.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LIB_DIR, POM } from './paths.mjs';
import { requireJava, requireTool } from './prerequisites.mjs';
import { say } from './say.mjs';

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
      '-B',
      '-q',
      '-Dstyle.color=never',
      '-f',
      POM,
      'org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies',
      '-DincludeScope=runtime',
      `-DoutputDirectory=${LIB_DIR}`,
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0)
    throw new Error(`mvn copy-dependencies failed (exit code ${r.status}):\n${r.stdout}${r.stderr}`);
  const jars = readdirSync(LIB_DIR);
  const slf4j = jars.filter((j) => /^slf4j-api-/.test(j));
  if (slf4j.length !== 1 || jars.some((j) => /_2\.12-|logback|log4j-slf4j2-impl/.test(j))) {
    throw new Error(`unexpected jar set in .kafka/lib: ${jars.join(' ')}`);
  }
  writeFileSync(stampFile, stamp);
  return join(LIB_DIR, '*');
}
