/**
 * What the kernel holds and counts for a server's TCP connections: per-socket counters and buffer
 * memory from `ss -tinm` (the server side of every established connection on a port), the slab
 * objects every socket needs from /proc/slabinfo, and the TCP buffer pages from /proc/net/sockstat.
 * Linux only, like the rest of the suite.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Sums over the server-side sockets of one listening port. */
export interface SocketTotals {
  readonly sockets: number;
  /** Payload bytes (TLS records included) sent and received: tcpi_bytes_sent / tcpi_bytes_received. */
  readonly bytesSent: number;
  readonly bytesReceived: number;
  /** Segments sent and received, bare ACKs included. */
  readonly segsOut: number;
  readonly segsIn: number;
  /**
   * Socket buffer memory the kernel charges to the sockets (skmem: receive and send queues,
   * forward allocation, queued writes, options, backlog), bytes.
   */
  readonly bufferBytes: number;
}

const field = (line: string, name: string): number => {
  const m = new RegExp(`(?:^|\\s)${name}:(\\d+)`).exec(line);
  return m ? Number(m[1]) : 0;
};

/** Parses `ss -tinmH` output; exported for tests of the parser. */
export function parseSs(out: string): SocketTotals {
  let sockets = 0;
  let bytesSent = 0;
  let bytesReceived = 0;
  let segsOut = 0;
  let segsIn = 0;
  let bufferBytes = 0;
  for (const line of out.split('\n')) {
    if (line.trim() === '') continue;
    if (!/^\s/.test(line)) {
      sockets++;
      continue;
    }
    bytesSent += field(line, 'bytes_sent');
    bytesReceived += field(line, 'bytes_received');
    segsOut += field(line, 'segs_out');
    segsIn += field(line, 'segs_in');
    const m = /skmem:\(r(\d+),rb\d+,t(\d+),tb\d+,f(\d+),w(\d+),o(\d+),bl(\d+)/.exec(line);
    if (m) bufferBytes += m.slice(1).reduce((a, v) => a + Number(v), 0);
  }
  return { sockets, bytesSent, bytesReceived, segsOut, segsIn, bufferBytes };
}

/** The server side of every established connection whose local port is `port`. */
export function serverSockets(port: number): SocketTotals {
  const out = execFileSync('ss', ['-tinmH', 'state', 'established', `( sport = :${port} )`], {
    maxBuffer: 1 << 30,
  }).toString();
  return parseSs(out);
}

/**
 * Bytes on the wire for a payload count and a segment count: every segment carries an IPv4 header
 * (20 bytes) and a TCP header with the timestamp option (20 + 12), as Linux sends them when
 * timestamps are on (net.ipv4.tcp_timestamps = 1, the default, and what the run checks).
 */
export const TCP_IP_HEADER_BYTES = 52;
export const wireBytes = (payload: number, segments: number): number =>
  payload + segments * TCP_IP_HEADER_BYTES;

export function tcpTimestampsOn(): boolean {
  try {
    return readFileSync('/proc/sys/net/ipv4/tcp_timestamps', 'utf8').trim() !== '0';
  } catch {
    return false;
  }
}

/** The slab caches every TCP socket takes objects from (socket, inode, file, dentry, epoll entries). */
export const SOCKET_SLABS = [
  'TCP',
  'sock_inode_cache',
  'filp',
  'dentry',
  'eventpoll_epi',
  'eventpoll_pwq',
] as const;

/** Active objects and object size of the socket slab caches; undefined when /proc/slabinfo is not readable (it needs root). */
export function slabs(): Record<string, { objects: number; objectBytes: number }> | undefined {
  let text: string;
  try {
    text = readFileSync('/proc/slabinfo', 'utf8');
  } catch {
    return undefined;
  }
  const out: Record<string, { objects: number; objectBytes: number }> = {};
  for (const line of text.split('\n')) {
    const [name, active, , size] = line.split(/\s+/);
    if (name !== undefined && (SOCKET_SLABS as readonly string[]).includes(name))
      out[name] = { objects: Number(active), objectBytes: Number(size) };
  }
  return out;
}

/** TCP buffer memory of the network namespace, bytes (/proc/net/sockstat `TCP: … mem <pages>`). */
export function sockstatTcpBytes(): number {
  try {
    const m = /^TCP:.*\smem (\d+)/m.exec(readFileSync('/proc/net/sockstat', 'utf8'));
    return m ? Number(m[1]) * 4096 : 0;
  } catch {
    return 0;
  }
}
