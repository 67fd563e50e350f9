/**
 * Requests waiting for the server's reply, by request id. A reply (`ack`, `pong` or `error` with
 * the id) settles one; a timeout rejects it; a dropped link fails them all, except publishes,
 * which go back to the offline queue to be sent again with the same message id.
 */
import type { ServerOp } from '../../shared/src/frames.js';
import { WsgwError, serverError } from './errors.js';

interface Pending {
  resolve(op: ServerOp): void;
  reject(err: Error): void;
  timer: ReturnType<typeof setTimeout>;
  /** Set for publishes: when the link drops before the reply, this runs instead of a rejection. */
  requeue?: () => void;
}

export class Requests {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  /**
   * Registers a request and hands its id to `send`; the promise settles with the reply. `what`
   * names it in the timeout's message.
   */
  start(
    what: string,
    timeoutMs: number,
    send: (id: number) => void,
    requeue?: () => void,
  ): Promise<ServerOp> {
    const id = this.nextId++;
    if (this.nextId > 0xffff_fff0) this.nextId = 1;
    return new Promise<ServerOp>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new WsgwError('timeout', `no reply to ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer, ...(requeue ? { requeue } : {}) });
      send(id);
    });
  }

  /** A reply arrived: settles the request with its id, if it still waits. */
  settle(id: number | undefined, op: ServerOp): void {
    if (id === undefined) return;
    const p = this.pending.get(id);
    if (p === undefined) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    if (op.op === 'error') p.reject(serverError(op.code, op.message));
    else p.resolve(op);
  }

  /** The link dropped: replies will not come. Publishes are requeued unless the client stops. */
  failAll(err: Error, stopping: boolean): void {
    const requeue: Array<() => void> = [];
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      if (p.requeue && !stopping) requeue.push(p.requeue);
      else p.reject(err);
    }
    this.pending.clear();
    // Oldest first at the head of the queue: requeue() unshifts, so walk them backwards.
    for (const r of requeue.reverse()) r();
  }
}
