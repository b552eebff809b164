// The create's scheduler from the rows-by-need patch on: each job once the jobs it needs are done,
// side by side otherwise; after a failure nothing more starts, and what runs is let finish.
import { describe, expect, it } from 'vitest';
import { runByNeed, type Job } from '../../workflows/by-need.js';
import { Halted, Tracker } from '../../workflows/progress.js';

/** A job whose end the test decides; `log` gets `start id` and `end id`. */
function gate(log: string[]) {
  const open = new Map<string, { resolve: () => void; reject: (e: Error) => void }>();
  const job = (id: string, needs: string[] = []): Job => ({
    id,
    needs,
    run: () =>
      new Promise<void>((resolve, reject) => {
        log.push(`start ${id}`);
        open.set(id, { resolve: () => (log.push(`end ${id}`), resolve()), reject: (e) => (log.push(`fail ${id}`), reject(e)) });
      }),
  });
  const settle = async () => {
    for (let i = 0; i < 20; i++) await Promise.resolve();
  };
  return { job, open, settle };
}

describe('runByNeed', () => {
  it('starts a job as soon as the jobs it needs are done, without waiting for the others', async () => {
    const log: string[] = [];
    const { job, open, settle } = gate(log);
    const all = runByNeed([job('a'), job('slow', ['a']), job('b', ['a']), job('c', ['b']), job('d', ['b', 'c'])]);
    await settle();
    expect(log).toEqual(['start a']);
    open.get('a')!.resolve();
    await settle();
    expect(log).toEqual(['start a', 'end a', 'start slow', 'start b']);
    open.get('b')!.resolve();
    await settle();
    expect(log.slice(-2)).toEqual(['end b', 'start c']);
    open.get('c')!.resolve();
    await settle();
    expect(log.slice(-2)).toEqual(['end c', 'start d']);
    open.get('d')!.resolve();
    let done = false;
    void all.then(() => (done = true));
    await settle();
    // Still running: `slow`.
    expect(done).toBe(false);
    open.get('slow')!.resolve();
    await all;
  });

  it('after a failure starts nothing more, lets what runs finish, then throws the first failure', async () => {
    const log: string[] = [];
    const { job, open, settle } = gate(log);
    let haltedSeen: boolean[] = [];
    const watcher: Job = { id: 'watch', needs: ['a'], run: async (halted) => { haltedSeen.push(halted()); await new Promise<void>((r) => open.set('watch', { resolve: r, reject: () => r() })); haltedSeen.push(halted()); } };
    const all = runByNeed([job('a'), job('x', ['a']), job('y', ['a']), watcher, job('after-x', ['x']), job('after-y', ['y'])]);
    const outcome = all.then(() => 'resolved', (e: Error) => e.message);
    await settle();
    open.get('a')!.resolve();
    await settle();
    expect(log).toEqual(['start a', 'end a', 'start x', 'start y']);
    open.get('x')!.reject(new Error('x broke'));
    await settle();
    // y's dependant would be free to start once y ends, but nothing starts after a failure.
    open.get('y')!.resolve();
    await settle();
    open.get('watch')!.resolve();
    expect(await outcome).toBe('x broke');
    expect(log).toEqual(['start a', 'end a', 'start x', 'start y', 'fail x', 'end y']);
    // A job that waits in a loop learns of the failure.
    expect(haltedSeen).toEqual([false, true]);
    haltedSeen = [];
  });

  it('refuses a job that needs one not listed before it, and starts none', async () => {
    const ran: string[] = [];
    const job = (id: string, needs: string[]): Job => ({ id, needs, run: async () => void ran.push(id) });
    await expect(runByNeed([job('a', []), job('b', ['c']), job('c', [])])).rejects.toThrow(/b needs c, which is not listed before it/);
    await new Promise((r) => setTimeout(r, 10));
    expect(ran).toEqual([]);
  });
});

describe('a step stopped because another failed', () => {
  it('is shown as skipped, not failed, and the error still reaches the caller', async () => {
    const tracker = new Tracker('projb-qa', 'create', [{ id: 'rollout', title: 'Services become ready' }, { id: 'dns', title: 'DNS records' }], () => undefined);
    await expect(tracker.run('rollout', async () => { throw new Halted(); })).rejects.toBeInstanceOf(Halted);
    await expect(tracker.run('dns', async () => { throw new Error('Route 53 refused'); })).rejects.toThrow('Route 53 refused');
    expect(tracker.snapshot().steps.map((s) => [s.id, s.status, s.error])).toEqual([
      ['rollout', 'skipped', undefined],
      ['dns', 'failed', 'Route 53 refused'],
    ]);
  });
});
