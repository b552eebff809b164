// What of an environment's storage exists in the real systems: EFS access points, DataSync tasks and
// locations, PersistentVolumes and the files-deleting Job. Part of leftovers() (inspect.ts).
import { BatchV1Api, CoreV1Api } from '@kubernetes/client-node';
import { DataSyncClient, ListLocationsCommand, ListTasksCommand } from '@aws-sdk/client-datasync';
import { DescribeAccessPointsCommand, EFSClient } from '@aws-sdk/client-efs';
import type { ResolvedEnv } from '../../activities/environment.js';
import type { TestDeps } from './deps.js';

export async function storageLeftovers(t: Pick<TestDeps, 'deps'>, r: ResolvedEnv): Promise<string[]> {
  const found: string[] = [];
  const env = r.env.name;
  const fileSystemId = r.catalogue.catalogue.storage?.fileSystemId;
  const efs = new EFSClient(t.deps.aws);
  const dataSync = new DataSyncClient(t.deps.aws);
  try {
    if (fileSystemId) {
      const { AccessPoints = [] } = await efs.send(new DescribeAccessPointsCommand({ FileSystemId: fileSystemId }));
      found.push(...AccessPoints.filter((a) => a.RootDirectory?.Path?.startsWith(`/envbot/${env}/`)).map((a) => `efs access point ${a.RootDirectory!.Path}`));
    }
    const { Tasks = [] } = await dataSync.send(new ListTasksCommand({}));
    found.push(...Tasks.filter((x) => x.Name?.startsWith(`envbot-${env}-`)).map((x) => `datasync task ${x.Name}`));
    // Every DataSync object envbot ever made for the environment has its ARN in the ledger (deleted or
    // not): any of them still listed is left over, whatever the ledger says now.
    const made = await t.deps.store.pool.query<{ name: string }>("SELECT name FROM resources WHERE environment = $1 AND kind = 'datasync-arn'", [env]);
    const arns = new Set(made.rows.map((x) => x.name));
    const { Locations = [] } = await dataSync.send(new ListLocationsCommand({}));
    found.push(...Locations.filter((l) => arns.has(l.LocationArn!)).map((l) => `datasync location ${l.LocationUri}`));
  } finally {
    efs.destroy();
    dataSync.destroy();
  }
  const selector = `envbot.io/environment=${env}`;
  // Objects marked for deletion but held by a finalizer no controller runs here (pv-protection) are gone for our purposes.
  const volumes = await t.deps.kube.makeApiClient(CoreV1Api).listPersistentVolume({ labelSelector: selector });
  found.push(...volumes.items.filter((v) => !v.metadata?.deletionTimestamp).map((v) => `kubernetes PersistentVolume/${v.metadata?.name}`));
  const jobs = await t.deps.kube.makeApiClient(BatchV1Api).listNamespacedJob({ namespace: r.names.namespace, labelSelector: selector });
  found.push(...jobs.items.filter((j) => !j.metadata?.deletionTimestamp).map((j) => `kubernetes Job/${j.metadata?.name}`));
  return found;
}
