/**
 * permessage-deflate negotiation (RFC 7692 §5, §7.1), done by the gateway rather than by `ws`.
 *
 * ws negotiates generically: it parses the whole Sec-WebSocket-Extensions header into
 * null-prototype objects, builds a PerMessageDeflate instance per socket and formats the response
 * from them, about 3.5 KB of short-lived objects per handshake (sampled allocation profile, 19,000
 * handshakes). When thousands of clients connect at once that is a quarter more scavenges, and
 * more objects promoted to the old generation, whose pages then stay half empty: about 10 % more
 * RSS per idle connection. The gateway's answer takes a few values only (the context-takeover
 * parameters are fixed, the server's window is the client's limit or none), so each is built once
 * and shared, and the offer is read in one pass that allocates only the parameter names it meets.
 */

/** A negotiated extension's parameters, in the shape ws's Receiver and Sender read. */
export type DeflateParams = Readonly<Record<string, number | true>>;

/** What the gateway answers to an acceptable offer: the parameters and their header value. */
export interface DeflateAnswer {
  readonly params: DeflateParams;
  /** The Sec-WebSocket-Extensions response header's value. */
  readonly header: string;
}

export const EXTENSION = 'permessage-deflate';

/** Answers by the client's server_max_window_bits (8-15), index 0 for none; built on first use. */
const answers: Array<DeflateAnswer | undefined> = [];

function answer(serverMaxWindowBits: number): DeflateAnswer {
  let a = answers[serverMaxWindowBits];
  if (a === undefined) {
    // Both context-takeover parameters, always: every server message is then valid for every
    // client (compressed once per broadcast), and every client message is a deflate stream of
    // its own, so no socket needs zlib state of its own (RFC 7692 §7.1.1.1, §7.1.1.2).
    const params: Record<string, number | true> = {
      server_no_context_takeover: true,
      client_no_context_takeover: true,
    };
    let header = `${EXTENSION}; server_no_context_takeover; client_no_context_takeover`;
    if (serverMaxWindowBits !== 0) {
      // §7.1.2.1: accepting a limit means repeating it (the gateway then sends this client plain
      // frames when the limit is below the window it compresses with; see compression.ts).
      params.server_max_window_bits = serverMaxWindowBits;
      header += `; server_max_window_bits=${serverMaxWindowBits}`;
    }
    a = answers[serverMaxWindowBits] = { params: Object.freeze(params), header };
  }
  return a;
}

/**
 * The answer to a Sec-WebSocket-Extensions request header, or undefined to decline (no extension
 * in the response: the handshake goes on without compression). Offers are considered in order and
 * the first acceptable permessage-deflate offer wins (§5.1), and the rest of the header is not
 * read; an offer with an unknown, repeated or malformed parameter is declined (§7.1); a syntax
 * error before an acceptable offer declines them all.
 * Parameter values may be quoted (§7.1.2: `client_max_window_bits="10"`).
 */
export function acceptDeflate(header: string | undefined): DeflateAnswer | undefined {
  if (header === undefined) return undefined;
  const p = new OfferReader(header);
  try {
    while (!p.done()) {
      const name = p.token();
      const ours = name === EXTENSION;
      let ok = ours;
      let seen = 0;
      let serverBits = 0;
      while (p.skip(SEMI)) {
        const param = p.token();
        const value = p.skip(EQUALS) ? p.value() : undefined;
        if (!ours || !ok) continue;
        const bit = PARAMS.indexOf(param);
        if (bit < 0 || (seen & (1 << bit)) !== 0) {
          ok = false;
          continue;
        }
        seen |= 1 << bit;
        if (param === 'server_no_context_takeover' || param === 'client_no_context_takeover') {
          ok = value === undefined;
        } else if (param === 'server_max_window_bits') {
          serverBits = windowBits(value);
          ok = serverBits !== 0;
        } else {
          // client_max_window_bits: a value is optional; the gateway inflates with any window.
          ok = value === undefined || windowBits(value) !== 0;
        }
      }
      // An offer ends at a comma or with the header.
      const last = p.done();
      if (!last && !p.skip(COMMA)) return undefined;
      if (ours && ok) return answer(serverBits);
      if (last) return undefined;
    }
  } catch {
    return undefined;
  }
  return undefined;
}

const PARAMS = [
  'server_no_context_takeover',
  'client_no_context_takeover',
  'server_max_window_bits',
  'client_max_window_bits',
];

/** A window size parameter's value, 8-15 in decimal digits, or 0 when it is anything else. */
function windowBits(value: string | undefined): number {
  if (value === undefined || !/^(?:[89]|1[0-5])$/.test(value)) return 0;
  return Number(value);
}

const SEMI = 0x3b;
const EQUALS = 0x3d;
const COMMA = 0x2c;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

class Malformed extends Error {}

/** RFC 7230 tchar: the characters of a token, by char code. */
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
  TCHAR[c.charCodeAt(0)] = 1;

function isTchar(c: number): boolean {
  return c < 128 && TCHAR[c] === 1;
}

/** One pass over the header (RFC 6455 §9.1 grammar, optional whitespace around separators). */
class OfferReader {
  private i = 0;

  constructor(private readonly s: string) {
    this.ws();
  }

  done(): boolean {
    return this.i >= this.s.length;
  }

  /** Consumes `c` (and the whitespace after it) if it comes next. */
  skip(c: number): boolean {
    if (this.s.charCodeAt(this.i) !== c) return false;
    this.i++;
    this.ws();
    return true;
  }

  token(): string {
    const start = this.i;
    while (this.i < this.s.length && isTchar(this.s.charCodeAt(this.i))) this.i++;
    if (this.i === start) throw new Malformed();
    const t = this.s.slice(start, this.i);
    this.ws();
    return t;
  }

  /**
   * A parameter value: a token, or a quoted string's content (any: another extension's value may
   * hold separators; this one's values are checked as numbers, which also excludes them).
   */
  value(): string {
    if (this.s.charCodeAt(this.i) !== QUOTE) return this.token();
    let out = '';
    for (this.i++; this.i < this.s.length; this.i++) {
      let c = this.s.charCodeAt(this.i);
      if (c === QUOTE) {
        this.i++;
        this.ws();
        return out;
      }
      if (c === BACKSLASH) c = this.s.charCodeAt(++this.i);
      if (Number.isNaN(c)) break;
      out += String.fromCharCode(c);
    }
    throw new Malformed();
  }

  private ws(): void {
    for (let c = this.s.charCodeAt(this.i); c === 0x20 || c === 0x09; c = this.s.charCodeAt(++this.i));
  }
}
