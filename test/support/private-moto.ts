// A moto server of the test's own, started from the project's launcher (scripts/services/moto_launcher.py)
// on a free port: for calls the launcher adds (Client VPN) that the shared moto, started before them,
// may not have yet, and without touching the shared one. Stopped by the test.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createContext } from '../../scripts/services/lib/context.js';
import { pythonVenv } from '../../scripts/services/lib/install.js';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export interface PrivateMoto {
  endpoint: string;
  stop(): Promise<void>;
}

export async function privateMoto(): Promise<PrivateMoto> {
  const ctx = createContext();
  const venv = await pythonVenv(ctx);
  const port = await freePort();
  const child = spawn(join(venv, 'bin', 'python'), [join(ctx.toolDir, 'moto_launcher.py'), '127.0.0.1', String(port)], { stdio: 'ignore' });
  const endpoint = `http://127.0.0.1:${port}`;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (let i = 0; ; i++) {
    const ok = await fetch(`${endpoint}/moto-api/data.json`).then((r) => r.ok, () => false);
    if (ok) break;
    if (i > 120 || child.exitCode !== null) {
      child.kill();
      throw new Error(`the private moto server on port ${port} did not answer`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    endpoint,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
