// The tagged groups the demo and the local emulators start with: both scopes on 443 in us-east-1
// (GLOBAL in two groups), GLOBAL on 80 in eu-west-1 beside a rule the action does not own; and the
// network interfaces that carry them, for the exposure audit: a load balancer carrying every pool
// whole, an instance carrying half the GLOBAL pool (a partial pool), and an instance in eu-west-1
// whose group also lets an office range in on port 80 (wider exposure).
import type { Ec2Emulator } from './emulators/ec2.js'

export const DEMO_REGIONS = ['us-east-1', 'eu-west-1']

export function seedDemoGroups(emulator: Ec2Emulator): void {
  const tags = (name: string, protocol: string): Record<string, string> => ({
    Name: name,
    AutoUpdate: 'true',
    Protocol: protocol
  })
  const global1 = emulator.createGroup({
    region: 'us-east-1',
    vpcId: 'vpc-0a1',
    name: 'alb-cloudfront-global',
    tags: tags('cloudfront_g', 'https')
  })
  const global2 = emulator.createGroup({
    region: 'us-east-1',
    vpcId: 'vpc-0a1',
    name: 'alb-cloudfront-global-2',
    tags: tags('cloudfront_g', 'https')
  })
  const regional = emulator.createGroup({
    region: 'us-east-1',
    vpcId: 'vpc-0a1',
    name: 'alb-cloudfront-regional',
    tags: tags('cloudfront_r', 'https')
  })
  const web = emulator.createGroup({
    region: 'eu-west-1',
    vpcId: 'vpc-0b2',
    name: 'web-cloudfront-http',
    tags: tags('cloudfront_g', 'http'),
    // Not ours: an office rule on tcp/80 that must survive every run.
    ingress: [
      { protocol: 'tcp', fromPort: 80, toPort: 80, cidr: '198.51.100.0/24', description: 'office' }
    ]
  })

  for (const zone of ['a', 'b']) {
    emulator.addNetworkInterface({
      region: 'us-east-1',
      vpcId: 'vpc-0a1',
      subnetId: `subnet-0a1${zone}`,
      groupIds: [global1, global2, regional],
      description: 'ELB app/shop-alb/50dc6c495c0c9188',
      requesterId: 'amazon-elb'
    })
  }
  emulator.addNetworkInterface({
    region: 'us-east-1',
    vpcId: 'vpc-0a1',
    groupIds: [global1],
    instanceId: emulator.newInstanceId()
  })
  emulator.addNetworkInterface({
    region: 'eu-west-1',
    vpcId: 'vpc-0b2',
    groupIds: [web],
    instanceId: emulator.newInstanceId()
  })
}
