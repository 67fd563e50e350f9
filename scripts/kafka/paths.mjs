// Where local Kafka keeps things: the jars fetched from Maven Central and the state of what runs,
// both under .kafka/ in the repository root (gitignored).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
/** The repository root. */
export const ROOT = join(here, '..', '..');
/** Cache and state directory (gitignored). */
export const KAFKA_DIR = join(ROOT, '.kafka');
/** The Kafka jars and their dependencies, copied there by Maven. */
export const LIB_DIR = join(KAFKA_DIR, 'lib');
/** The Maven project that names the jars. */
export const POM = join(here, 'pom.xml');
/** State of processes started from the command line. */
export const RUN_DIR = join(KAFKA_DIR, 'run');
