/**
 * A loopback TCP load balancer standing in for the ALB / Global Accelerator in tests:
 * round-robin over the live targets, a target that refuses is skipped (the client's connection is
 * dropped, so it retries as it would through a real balancer), targets can be added and removed
 * at run time, and every accepted connection's time is recorded (to see reconnect storms).
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export class TestBalancer {
  private readonly server: Server;
  private targets: number[];
  private next = 0;
  private readonly open = new Set<Socket>();
  /** `performance.now()` of every accepted client connection. */
  readonly accepts: number[] = [];
  port = 0;

  constructor(targets: number[]) {
    this.targets = [...targets];
    this.server = createServer((client) => this.route(client));
  }

  async listen(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', 4096, r));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}/`;
  }

  setTargets(ports: number[]): void {
    this.targets = [...ports];
  }

  add(port: number): void {
    this.targets.push(port);
  }

  remove(port: number): void {
    this.targets = this.targets.filter((p) => p !== port);
  }

  private route(client: Socket): void {
    this.accepts.push(performance.now());
    if (this.targets.length === 0) {
      client.destroy();
      return;
    }
    const port = this.targets[this.next++ % this.targets.length]!;
    const upstream = createConnection({ host: '127.0.0.1', port });
    this.open.add(client);
    this.open.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      this.open.delete(client);
      this.open.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream).pipe(client);
  }

  /** Cuts every connection abruptly, as a lost network or a killed task would. */
  dropAll(): void {
    for (const s of this.open) s.destroy();
    this.open.clear();
  }

  async close(): Promise<void> {
    this.dropAll();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
