// scripts/services up | down | status | env: the real local servers envbot's tests and `npm start` use.
import { readFileSync } from 'node:fs';
import { down, envFilePath, status, up } from './stack.js';

const USAGE = `usage: scripts/services/services <command>

  up       start (or reuse) every server and write .envbot/services.env
  down     stop the servers this checkout started
  status   show which servers answer
  env      print .envbot/services.env

Options: --quiet (up: print only failures)
         --no-tools (up: the servers only, not the tools the tests run: helm; npm start uses it)`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const quiet = rest.includes('--quiet');
  switch (command) {
    case 'up': {
      const t0 = Date.now();
      const res = await up({ quiet, tools: !rest.includes('--no-tools') });
      if (!res.ok) {
        for (const s of res.servers.filter((x) => x.state === 'failed')) {
          process.stderr.write(`\n${s.name} could not be started:\n${s.error}\n`);
        }
        process.stderr.write('\nscripts/services up failed; nothing else was changed. Fix the cause above and run it again.\n');
        return 1;
      }
      if (!quiet) process.stderr.write(`[services] all up in ${((Date.now() - t0) / 1000).toFixed(1)}s; settings in ${res.envFile}\n`);
      return 0;
    }
    case 'down':
      await down({ quiet });
      return 0;
    case 'status': {
      const rows = await status();
      for (const r of rows) {
        const state = r.ready ? (r.owned ? 'up (started by envbot)' : 'up (reused)') : 'down';
        process.stdout.write(`${r.name.padEnd(24)} ${r.ports.join(',').padEnd(11)} ${state}\n`);
      }
      return rows.every((r) => r.ready) ? 0 : 3;
    }
    case 'env':
      try {
        process.stdout.write(readFileSync(envFilePath(), 'utf8'));
        return 0;
      } catch {
        process.stderr.write('no .envbot/services.env yet: run "scripts/services/services up" first\n');
        return 1;
      }
    default:
      process.stderr.write(`${command ? `unknown command "${command}"\n\n` : ''}${USAGE}\n`);
      return command === undefined || command === 'help' || command === '--help' ? 0 : 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
