/**
 * Ids and tokens the client reads or makes without a library, in browsers and Node alike.
 */

/** 16 random bytes, base64url: a message id nobody else will choose. */
export function randomMessageId(): string {
  const b = new Uint8Array(16);
  globalThis.crypto.getRandomValues(b);
  return btoa(String.fromCharCode(...b))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
}

/**
 * Whether a JWT's `exp` lies within `ms` from now (or is past). Read without verifying: the
 * gateway verifies; this only decides whether to ask for a new one before connecting. A token
 * that is not a readable JWT is treated as never expiring.
 */
export function expiresWithin(token: string, ms: number): boolean {
  try {
    const part = token.split('.')[1];
    if (part === undefined) return false;
    const json = atob(
      part
        .replace(/-/g, '+')
        .replace(/_/g, '/')
        .padEnd(Math.ceil(part.length / 4) * 4, '='),
    );
    const exp = (JSON.parse(json) as { exp?: unknown }).exp;
    return typeof exp === 'number' && exp * 1000 - Date.now() < ms;
  } catch {
    return false;
  }
}
