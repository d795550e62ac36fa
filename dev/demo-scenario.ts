// The tagged groups the demo and the local emulators start with: both scopes on 443 in us-east-1,
// GLOBAL on 80 in eu-west-1, beside a rule the action does not own.
import type { Ec2Emulator } from './emulators/ec2.js'

export const DEMO_REGIONS = ['us-east-1', 'eu-west-1']

export function seedDemoGroups(emulator: Ec2Emulator): void {
  const tags = (name: string, protocol: string): Record<string, string> => ({
    Name: name,
    AutoUpdate: 'true',
    Protocol: protocol
  })
  emulator.createGroup({
    region: 'us-east-1',
    vpcId: 'vpc-0a1',
    name: 'alb-cloudfront-global',
    tags: tags('cloudfront_g', 'https')
  })
  emulator.createGroup({
    region: 'us-east-1',
    vpcId: 'vpc-0a1',
    name: 'alb-cloudfront-regional',
    tags: tags('cloudfront_r', 'https')
  })
  emulator.createGroup({
    region: 'eu-west-1',
    vpcId: 'vpc-0b2',
    name: 'web-cloudfront-http',
    tags: tags('cloudfront_g', 'http'),
    // Not ours: an office rule on tcp/80 that must survive every run.
    ingress: [
      { protocol: 'tcp', fromPort: 80, toPort: 80, cidr: '198.51.100.0/24', description: 'office' }
    ]
  })
}
