/**
 * Loaded into a gateway process under test with `--expose-gc --import` (after tsx): SIGUSR2 runs a
 * full garbage collection. The idle scenario uses it to read, next to the memory a process holds
 * when nothing forces a collection, the memory its connections keep after one: what is retained
 * per connection rather than garbage the next major collection gives back. Nothing else changes.
 */
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('gc-signal.ts needs node --expose-gc');
process.on('SIGUSR2', () => gc());
