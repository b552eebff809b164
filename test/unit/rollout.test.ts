// How the rollout wait judges a workload and reads a Pod's trouble (activities/rollout.ts), on
// objects shaped as the API server returns them.
import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { podTrouble, summaryOf, troubleLines, workloadState } from '../../activities/rollout.js';

const deployment = (spec: number | undefined, status: Record<string, number>, generation = 2) => ({
  kind: 'Deployment' as const,
  metadata: { name: 'service1', generation },
  spec: { ...(spec === undefined ? {} : { replicas: spec }), selector: {}, template: {} },
  status,
});

describe('workloadState', () => {
  it.each([
    ['every replica updated, ready and available', deployment(2, { observedGeneration: 2, replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2 }), { ready: 2, desired: 2, available: true }],
    ['one replica of two ready', deployment(2, { observedGeneration: 2, replicas: 2, updatedReplicas: 2, readyReplicas: 1, availableReplicas: 1 }), { ready: 1, desired: 2, available: false }],
    ['a new spec the controller has not seen yet', deployment(2, { observedGeneration: 1, replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2 }), { ready: 2, desired: 2, available: false }],
    ['old Pods still running beside the new ones', deployment(2, { observedGeneration: 2, replicas: 3, updatedReplicas: 2, readyReplicas: 3, availableReplicas: 3 }), { ready: 3, desired: 2, available: false }],
    ['no status yet, one replica by default', deployment(undefined, {}), { ready: 0, desired: 1, available: false }],
    ['scaled to zero and seen', deployment(0, { observedGeneration: 2 }), { ready: 0, desired: 0, available: true }],
  ])('%s', (_, w, expected) => {
    expect(workloadState(w)).toEqual(expected);
  });

  it('judges a StatefulSet by its ready replicas', () => {
    const base = { kind: 'StatefulSet' as const, metadata: { name: 'db', generation: 1 }, spec: { replicas: 1, selector: {}, serviceName: 'db', template: {} } };
    expect(workloadState({ ...base, status: { replicas: 1, observedGeneration: 1, updatedReplicas: 1, readyReplicas: 1 } }).available).toBe(true);
    expect(workloadState({ ...base, status: { replicas: 1, observedGeneration: 1, updatedReplicas: 1, readyReplicas: 0 } }).available).toBe(false);
  });
});

describe('podTrouble', () => {
  it('names an image that cannot be pulled, a crash and an unschedulable Pod', () => {
    const pod: V1Pod = {
      metadata: { name: 'api-7d9-abc' },
      status: {
        conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes are available: 3 Insufficient cpu.' }],
        containerStatuses: [
          { name: 'api', image: 'registry.invalid/api:1', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'ErrImagePull', message: 'not found' } } },
          { name: 'sidecar', image: 'x', imageID: '', ready: false, restartCount: 3, state: { terminated: { exitCode: 1, reason: 'Error', message: 'boom' } } },
          { name: 'starting', image: 'y', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } } },
        ],
      },
    };
    expect(troubleLines(podTrouble(pod))).toEqual([
      'Pod api-7d9-abc: Unschedulable: 0/3 nodes are available: 3 Insufficient cpu.',
      'Pod api-7d9-abc: container api ErrImagePull: not found',
      'Pod api-7d9-abc: container sidecar exited with code 1 (Error): boom',
    ]);
  });

  it('says the same trouble of several Pods once, naming them', () => {
    const text = 'container api ErrImagePull: not found';
    expect(troubleLines([{ subject: 'Pod a', text }, { subject: 'Pod b', text }, { subject: 'Pod a', text }, { subject: 'ReplicaSet r', text: 'FailedCreate: quota' }])).toEqual([
      'Pods a, b: container api ErrImagePull: not found',
      'ReplicaSet r: FailedCreate: quota',
    ]);
  });

  it('says nothing of a Pod that is merely starting', () => {
    expect(podTrouble({ metadata: { name: 'p' }, status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'True' }] } })).toEqual([]);
  });
});

describe('summaryOf', () => {
  it('says each service as "name ready/desired ready"', () => {
    expect(summaryOf([
      { service: 'service1', ready: 2, desired: 2, available: true, urls: [] },
      { service: 'service2', ready: 0, desired: 1, available: false, urls: [] },
    ])).toBe('service1 2/2 ready, service2 0/1 ready');
  });
});
