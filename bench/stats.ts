// Small statistics the benches print, and the machine's CPU time they measure.
import { readdirSync, readFileSync } from 'node:fs';

/** The p-th percentile of `xs` (nearest rank; NaN when empty). */
export function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

/** The median of `xs`: the middle value, or the mean of the two middle ones. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The machine's CPU time so far by /proc/stat's first line: user nice system idle iowait irq softirq steal guest guest_nice, in ticks. */
const cpuTicks = (): number[] => readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);

/**
 * Busy CPU time of the whole machine so far, in seconds: user, nice, system, irq and softirq. Left
 * out: idle and iowait; steal (time the hypervisor gave to other machines, not work done here); guest
 * time (already counted in user).
 */
export function machineBusy(): number {
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0] = cpuTicks();
  return (user + nice + system + irq + softirq) / 100;
}

/** Time the hypervisor took from this machine's CPUs so far (steal), in seconds. */
export function machineSteal(): number {
  return (cpuTicks()[7] ?? 0) / 100;
}

/** CPU-seconds (user + system, with reaped children) of every process now running, by pid, with its command name; of this process's threads with `/proc/self/task`. */
export type ProcessCpu = Map<string, { name: string; seconds: number }>;

export function processCpu(dir = '/proc'): ProcessCpu {
  const out: ProcessCpu = new Map();
  for (const pid of readdirSync(dir)) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`${dir}/${pid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
      out.set(pid, { name, seconds: (f[11]! + f[12]! + f[13]! + f[14]!) / 100 });
    } catch {
      // the process ended between the listing and the read
    }
  }
  return out;
}

/** CPU-seconds spent between two snapshots, summed by command name, largest first (processes that ended meanwhile are missing). */
export function cpuByName(before: ProcessCpu, after: ProcessCpu): [string, number][] {
  const by = new Map<string, number>();
  for (const [pid, { name, seconds }] of after) {
    const spent = seconds - (before.get(pid)?.seconds ?? 0);
    if (spent > 0) by.set(name, (by.get(name) ?? 0) + spent);
  }
  return [...by].sort((a, b) => b[1] - a[1]);
}

/** Requests the Kubernetes API server has answered so far (its `apiserver_request_total`, every client), by "VERB resource[/subresource]". */
export async function kubeRequestCounts(get: (path: string) => Promise<string>): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const line of (await get('/metrics')).split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const labels = Object.fromEntries([...line.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (!labels.resource) continue;
    const key = `${labels.verb} ${labels.resource}${labels.subresource ? `/${labels.subresource}` : ''}`;
    out.set(key, (out.get(key) ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return out;
}

/** What was added between two counts, largest first. */
export function countsAdded(before: Map<string, number>, after: Map<string, number>): [string, number][] {
  return [...after].map(([k, n]): [string, number] => [k, n - (before.get(k) ?? 0)]).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
}
