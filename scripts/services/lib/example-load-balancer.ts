// The internal load balancer the example catalogue names (`loadBalancer: { name: envbot-internal,
// port: 80 }`), made in moto the way an operator makes one in AWS: a VPC with two subnets, an internal
// Application Load Balancer and an HTTP listener whose default answer is 404 (envbot adds one rule
// per environment and service in front of it). Idempotent; tests call it too.
import { CreateSubnetCommand, CreateVpcCommand, EC2Client } from '@aws-sdk/client-ec2';
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  DeleteListenerCommand,
  DeleteLoadBalancerCommand,
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';

export const EXAMPLE_LOAD_BALANCER = { name: 'envbot-internal', port: 80 } as const;

const local = (endpoint: string) => ({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
const named = (err: unknown, code: string) => new RegExp(`^${code}(Exception)?$`).test((err as { name?: string }).name ?? '');

/** Makes the example load balancer and listener in the moto at `endpoint` unless they are there; returns the listener's ARN. */
export async function ensureExampleLoadBalancer(endpoint: string, lb: { name: string; port: number } = EXAMPLE_LOAD_BALANCER): Promise<string> {
  const elb = new ElasticLoadBalancingV2Client(local(endpoint));
  const ec2 = new EC2Client(local(endpoint));
  try {
    const find = async () => (await elb.send(new DescribeLoadBalancersCommand({ Names: [lb.name] })).catch((err: unknown) => {
      if (named(err, 'LoadBalancerNotFound')) return { LoadBalancers: [] };
      throw err;
    })).LoadBalancers?.[0]?.LoadBalancerArn;
    let arn = await find();
    if (!arn) {
      const vpc = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.20.0.0/16', TagSpecifications: [{ ResourceType: 'vpc', Tags: [{ Key: 'Name', Value: lb.name }] }] }))).Vpc!.VpcId!;
      const subnets = await Promise.all(['a', 'b'].map(async (zone, i) =>
        (await ec2.send(new CreateSubnetCommand({ VpcId: vpc, CidrBlock: `10.20.${i + 1}.0/24`, AvailabilityZone: `us-east-1${zone}` }))).Subnet!.SubnetId!));
      try {
        const made = (await elb.send(new CreateLoadBalancerCommand({ Name: lb.name, Scheme: 'internal', Type: 'application', Subnets: subnets }))).LoadBalancers![0]!.LoadBalancerArn!;
        // moto accepts a second load balancer of the same name (AWS does not): when another caller
        // made one meanwhile, keep the first listed and remove ours.
        arn = (await find())!;
        if (arn !== made) await elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: made }));
      } catch (err) {
        if (!named(err, 'DuplicateLoadBalancerName')) throw err;
        arn = (await find())!;
      }
    }
    const onPort = async () => ((await elb.send(new DescribeListenersCommand({ LoadBalancerArn: arn }))).Listeners ?? []).find((l) => l.Port === lb.port)?.ListenerArn;
    const listener = await onPort();
    if (listener) return listener;
    const made = (await elb.send(new CreateListenerCommand({
      LoadBalancerArn: arn,
      Protocol: 'HTTP',
      Port: lb.port,
      DefaultActions: [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '404', ContentType: 'text/plain', MessageBody: 'no environment here' } }],
    }))).Listeners![0]!.ListenerArn!;
    // The same for a listener made on the port meanwhile.
    const first = (await onPort())!;
    if (first !== made) await elb.send(new DeleteListenerCommand({ ListenerArn: made }));
    return first;
  } finally {
    elb.destroy();
    ec2.destroy();
  }
}
