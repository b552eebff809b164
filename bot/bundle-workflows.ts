// `npm run build`'s second half: bundles the compiled workflows once (webpack, through Temporal's
// bundleWorkflowCode) into dist/workflows/bundle.js, which the compiled worker loads at start
// (bot/worker.ts workflowCode); scripts/build then stamps the build complete (dist/.built). Run from
// dist/ only: under tsx the worker bundles the sources itself.
import { renameSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { WORKFLOW_BUNDLE_PATH, WORKFLOWS_PATH } from './worker.js';

if (!WORKFLOWS_PATH.endsWith('.js')) throw new Error('bundle-workflows runs from dist/ (npm run build), not from the sources');
const started = Date.now();
const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: new DefaultLogger('WARN') });
// Written beside its place and renamed into it: a worker starting meanwhile loads the old bundle or the new one.
writeFileSync(`${WORKFLOW_BUNDLE_PATH}.${process.pid}.tmp`, code);
renameSync(`${WORKFLOW_BUNDLE_PATH}.${process.pid}.tmp`, WORKFLOW_BUNDLE_PATH);
console.log(`workflows bundled into ${relative(process.cwd(), WORKFLOW_BUNDLE_PATH)} (${(code.length / 1024 / 1024).toFixed(1)} MB) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
