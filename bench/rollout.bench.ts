// Ready means reachable, measured on the local cluster: time to ready for projb-qa when its Pods take
// DELAY_SECONDS to become Ready, and the share envbot adds on top of that wait.
//
// What is real and what is simulated: kube-apiserver, the controller manager and the scheduler are
// real; kwok plays the nodes, and its pod-ready stage makes a scheduled Pod Running and Ready after
// the delay its `kwok.envbot.io/ready-delay` annotation asks for (scripts/services/kwok/stages.yaml).
// The bench adds that annotation to the Pod templates of a copy of the example catalogue.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../shared/paths.js';
import type { Settings } from '../shared/settings.js';
import { runOnce } from './provisioning.bench.js';

const DELAY_SECONDS = 10;
const POD_TEMPLATE = '  template:\n    metadata:\n      labels:\n';

type Print = (line: string) => void;
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export async function rolloutBench(settings: Settings, print: Print): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'envbot-bench-rollout-'));
  try {
    cpSync(join(projectRoot, 'examples'), dir, { recursive: true });
    for (const service of ['service1', 'service2']) {
      const file = join(dir, 'templates', 'projb', `${service}.yaml.hbs`);
      const text = readFileSync(file, 'utf8');
      if (!text.includes(POD_TEMPLATE)) throw new Error(`${file} no longer has a Deployment's Pod template where the bench adds its annotation: update the bench`);
      writeFileSync(file, text.replace(POD_TEMPLATE, `  template:\n    metadata:\n      annotations:\n        kwok.envbot.io/ready-delay: "${DELAY_SECONDS}s"\n      labels:\n`));
    }
    const { wall, progress } = await runOnce(settings, join(dir, 'envbot.yaml'), `projb-qa, Pods Ready ${DELAY_SECONDS} s after they are scheduled`, print);
    const step = (id: string) => progress.steps.find((x) => x.id === id);
    const manifests = step('manifests');
    const rollout = step('rollout');
    if (!rollout?.startedAt || !rollout.endedAt || !manifests?.startedAt) throw new Error('the create has no "Services become ready" step: is the await-rollout patch in?');
    // The Pods' own wait begins when their Deployments are applied: from the manifests step on.
    const podsWait = Date.parse(rollout.endedAt) - Date.parse(manifests.startedAt);
    const rolloutMs = Date.parse(rollout.endedAt) - Date.parse(rollout.startedAt);
    print(`  the wait for the services took ${s(rolloutMs)} (${rollout.detail ?? ''}); from applying the Deployments to all Ready: ${s(podsWait)}`);
    print(`  envbot added ${s(podsWait - DELAY_SECONDS * 1000)} to the Pods' ${DELAY_SECONDS} s (scheduling, kwok, and the wait's look once a second)`);
    print(`  share of time to ready that is the Pods' own delay: ${((DELAY_SECONDS * 1000) / wall * 100).toFixed(0)}%; the rest (${s(wall - DELAY_SECONDS * 1000)}) is envbot's other steps and overhead`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
