// AWS APIs on moto through AWS SDK v3: a private Route 53 record, a Secrets Manager secret, and the
// DataSync EFS location that envbot's moto launcher adds.
import { randomBytes } from 'node:crypto';
import { CreateLocationEfsCommand, DataSyncClient, DescribeLocationEfsCommand } from '@aws-sdk/client-datasync';
import { CreateFileSystemCommand, EFSClient } from '@aws-sdk/client-efs';
import { ChangeResourceRecordSetsCommand, CreateHostedZoneCommand, ListResourceRecordSetsCommand, Route53Client } from '@aws-sdk/client-route-53';
import { CreateSecretCommand, GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { awsClientConfig } from '../../shared/clients/aws.js';
import { testSettings } from '../support/settings.js';

const config = awsClientConfig(testSettings());
const tag = randomBytes(3).toString('hex');

describe('moto: AWS APIs', () => {
  it('Route 53: upserts a record in a private hosted zone and lists it back', async () => {
    const r53 = new Route53Client(config);
    const zone = await r53.send(new CreateHostedZoneCommand({
      Name: `rt-${tag}.example.com`, CallerReference: `rt-${tag}`,
      VPC: { VPCId: 'vpc-0envbot0local0', VPCRegion: 'us-east-1' }, HostedZoneConfig: { PrivateZone: true, Comment: 'envbot test' },
    }));
    const zoneId = zone.HostedZone!.Id!;
    expect(zone.HostedZone?.Config?.PrivateZone).toBe(true);
    const change = await r53.send(new ChangeResourceRecordSetsCommand({
      HostedZoneId: zoneId,
      ChangeBatch: { Changes: [{ Action: 'UPSERT', ResourceRecordSet: { Name: `service1.projb-qa.rt-${tag}.example.com`, Type: 'CNAME', TTL: 60, ResourceRecords: [{ Value: 'internal-lb.example.com' }] } }] },
    }));
    expect(change.ChangeInfo?.Status).toBe('INSYNC');
    const records = await r53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId }));
    const record = records.ResourceRecordSets?.find((r) => r.Name === `service1.projb-qa.rt-${tag}.example.com.`);
    expect(record?.ResourceRecords?.[0]?.Value).toBe('internal-lb.example.com');
  });

  it('Secrets Manager: stores a secret and reads its value back', async () => {
    const sm = new SecretsManagerClient(config);
    await sm.send(new CreateSecretCommand({ Name: `envbot/test/${tag}`, SecretString: JSON.stringify({ password: 'shared-value' }) }));
    const got = await sm.send(new GetSecretValueCommand({ SecretId: `envbot/test/${tag}` }));
    expect(JSON.parse(got.SecretString ?? '{}')).toEqual({ password: 'shared-value' });
  });

  it('DataSync: creates and describes an EFS location (the handler envbot adds to moto)', async () => {
    const efs = new EFSClient(config);
    const fs = await efs.send(new CreateFileSystemCommand({ CreationToken: `rt-${tag}` }));
    const datasync = new DataSyncClient(config);
    const fsArn = `arn:aws:elasticfilesystem:us-east-1:123456789012:file-system/${fs.FileSystemId}`;
    const created = await datasync.send(new CreateLocationEfsCommand({
      EfsFilesystemArn: fsArn, Subdirectory: '/envbot/projb-qa/media',
      Ec2Config: { SubnetArn: 'arn:aws:ec2:us-east-1:123456789012:subnet/subnet-1', SecurityGroupArns: ['arn:aws:ec2:us-east-1:123456789012:security-group/sg-1'] },
    }));
    const described = await datasync.send(new DescribeLocationEfsCommand({ LocationArn: created.LocationArn! }));
    expect(described.LocationUri).toBe(`efs://us-east-1.${fs.FileSystemId}/envbot/projb-qa/media`);
  });
});
