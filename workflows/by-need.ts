// Steps run as soon as the steps they need are done, side by side otherwise (a create from
// ROWS_BY_NEED_PATCH on). After a failure no further step starts, and every started one is let
// finish (or fail) before the first failure is thrown: no step is still running during undo.

export interface Job {
  id: string;
  /** Ids of jobs listed before this one. */
  needs: readonly string[];
  /** `halted()` turns true once another job failed: a job that waits in a loop stops there. */
  run: (halted: () => boolean) => Promise<void>;
}

export async function runByNeed(jobs: readonly Job[]): Promise<void> {
  const ended = new Map<string, Promise<boolean>>();
  let failure: { error: unknown } | undefined;
  const halted = () => failure !== undefined;
  // Every need checked before any job starts: a refused list leaves nothing running.
  jobs.forEach((job, i) => {
    for (const id of job.needs) if (!jobs.slice(0, i).some((j) => j.id === id)) throw new Error(`${job.id} needs ${id}, which is not listed before it`);
  });
  for (const job of jobs) {
    const needed = job.needs.map((id) => ended.get(id)!);
    ended.set(
      job.id,
      (async () => {
        const built = await Promise.all(needed);
        if (halted() || !built.every(Boolean)) return false;
        try {
          await job.run(halted);
          return true;
        } catch (error) {
          failure ??= { error };
          return false;
        }
      })(),
    );
  }
  await Promise.all(ended.values());
  if (failure) throw failure.error;
}
