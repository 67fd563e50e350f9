/**
 * A progress line on stderr, prefixed so that it stands out among test and server output; stdout
 * stays for what the command line prints as its result.
 * @param {string} msg
 */
export const say = (msg) => process.stderr.write(`kafka: ${msg}\n`);
