import { describe, expect, it, vi } from 'vitest';
import { Requests } from '../../services/client/src/requests.js';
import { WsgwError } from '../../services/client/src/errors.js';

describe('Requests', () => {
  it('settles a request by its id, with the reply or the server error', async () => {
    const r = new Requests();
    const ids: number[] = [];
    const ok = r.start('ping', 1_000, (id) => ids.push(id));
    const bad = r.start('sub', 1_000, (id) => ids.push(id));
    expect(new Set(ids).size).toBe(2);
    r.settle(ids[1], { op: 'error', id: ids[1], code: 'forbidden', message: 'no' });
    r.settle(ids[0], { op: 'pong', id: ids[0] });
    r.settle(ids[0], { op: 'pong', id: ids[0] }); // a second reply is ignored
    await expect(ok).resolves.toMatchObject({ op: 'pong' });
    await expect(bad).rejects.toMatchObject({ code: 'forbidden' });
  });

  it('rejects with timeout when no reply comes', async () => {
    vi.useFakeTimers();
    try {
      const r = new Requests();
      const p = r.start('pub', 500, () => {});
      const caught = p.catch((e: unknown) => e);
      vi.advanceTimersByTime(500);
      const err = (await caught) as WsgwError;
      expect(err.code).toBe('timeout');
      expect(err.message).toContain('pub');
    } finally {
      vi.useRealTimers();
    }
  });

  it('on a dropped link requeues publishes oldest first and rejects the rest; when stopping rejects all', async () => {
    const r = new Requests();
    const queue: string[] = [];
    const p1 = r.start(
      'pub',
      1_000,
      () => {},
      () => queue.unshift('p1'),
    );
    const p2 = r.start(
      'pub',
      1_000,
      () => {},
      () => queue.unshift('p2'),
    );
    const sub = r.start('sub', 1_000, () => {});
    r.failAll(new WsgwError('disconnected', 'link dropped'), false);
    await expect(sub).rejects.toMatchObject({ code: 'disconnected' });
    expect(queue).toEqual(['p1', 'p2']);
    void p1.catch(() => {});
    void p2.catch(() => {});

    const r2 = new Requests();
    const p3 = r2.start(
      'pub',
      1_000,
      () => {},
      () => queue.push('p3'),
    );
    r2.failAll(new WsgwError('closed', 'client closed'), true);
    await expect(p3).rejects.toMatchObject({ code: 'closed' });
    expect(queue).not.toContain('p3');
  });
});
