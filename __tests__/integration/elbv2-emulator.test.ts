// The ELBv2 emulator over loopback HTTP, Query protocol 2015-12-01: SetSecurityGroups replaces the
// load balancer's groups (on each of its interfaces in the EC2 emulator), the groups-per-load-
// balancer limit, unknown groups and Gateway Load Balancers refused. The SDK client for ELBv2 is
// not installed yet (@aws-sdk/client-elastic-load-balancing-v2): requests are sent as it would,
// form-encoded with a SigV4 Authorization header (the emulator reads the scope, not the signature).
import type { AwsEmulators } from '../../dev/emulators/aws.js'
import { startAwsEmulators } from '../../dev/emulators/aws.js'

let aws: AwsEmulators
beforeAll(async () => {
  aws = await startAwsEmulators()
})
afterAll(async () => {
  await aws.stop()
})
beforeEach(() => {
  aws.ec2.reset()
  aws.elbv2.reset()
})

async function call(params: Record<string, string>): Promise<{ status: number; body: string }> {
  const url = aws.env.AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2 as string
  const response = await fetch(`${url}/`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization:
        'AWS4-HMAC-SHA256 Credential=AKIDDEFAULTCHAIN0000/20260101/us-east-1/' +
        'elasticloadbalancing/aws4_request, SignedHeaders=host, Signature=00'
    },
    body: new URLSearchParams({ Version: '2015-12-01', ...params }).toString()
  })
  return { status: response.status, body: await response.text() }
}

const group = (name: string) =>
  aws.ec2.createGroup({ region: 'us-east-1', vpcId: 'vpc-1', name, tags: {} })

test('SetSecurityGroups replaces the list on the load balancer and every interface of it', async () => {
  const [a, b, c] = [group('a'), group('b'), group('c')]
  const arn = aws.elbv2.addLoadBalancer({
    region: 'us-east-1',
    vpcId: 'vpc-1',
    name: 'shop',
    groupIds: [a, b]
  })
  const described = await call({ Action: 'DescribeLoadBalancers', 'Names.member.1': 'shop' })
  expect(described.status).toBe(200)
  expect(described.body).toContain(`<LoadBalancerArn>${arn}</LoadBalancerArn>`)
  expect(described.body).toContain(`<SecurityGroups><member>${a}</member><member>${b}</member>`)

  const set = await call({
    Action: 'SetSecurityGroups',
    LoadBalancerArn: arn,
    'SecurityGroups.member.1': a,
    'SecurityGroups.member.2': c
  })
  expect(set.status).toBe(200)
  expect(set.body).toContain(`<SecurityGroupIds><member>${a}</member><member>${c}</member>`)
  expect(aws.elbv2.groupsOf(arn)).toEqual([a, c])
  const interfaces = aws.ec2.listNetworkInterfaces()
  expect(interfaces).toHaveLength(2)
  for (const eni of interfaces) {
    expect(eni.groupIds).toEqual([a, c])
    expect(eni.description).toMatch(/^ELB app\/shop\/[0-9a-f]+$/)
  }
})

test('more groups than the quota, an unknown group, a Gateway Load Balancer: refused', async () => {
  const ids = [1, 2, 3, 4, 5, 6].map(n => group(`g${n}`))
  const arn = aws.elbv2.addLoadBalancer({
    region: 'us-east-1',
    vpcId: 'vpc-1',
    name: 'full',
    groupIds: ids.slice(0, 5)
  })
  const members = (list: string[]) =>
    Object.fromEntries(list.map((id, i) => [`SecurityGroups.member.${i + 1}`, id]))
  const tooMany = await call({ Action: 'SetSecurityGroups', LoadBalancerArn: arn, ...members(ids) })
  expect(tooMany.status).toBe(400)
  expect(tooMany.body).toContain('<Code>InvalidConfigurationRequest</Code>')
  const unknown = await call({
    Action: 'SetSecurityGroups',
    LoadBalancerArn: arn,
    ...members(['sg-0000000000000dead'])
  })
  expect(unknown.body).toContain('<Code>InvalidSecurityGroup</Code>')
  expect(aws.elbv2.groupsOf(arn)).toEqual(ids.slice(0, 5))

  const gwy = aws.elbv2.addLoadBalancer({
    region: 'us-east-1',
    vpcId: 'vpc-1',
    name: 'gw',
    type: 'gateway',
    groupIds: [ids[0] as string]
  })
  const gateway = await call({ Action: 'SetSecurityGroups', LoadBalancerArn: gwy, ...members(ids) })
  expect(gateway.body).toContain('<Code>InvalidConfigurationRequest</Code>')
  const missing = await call({ Action: 'DescribeLoadBalancers', 'Names.member.1': 'nope' })
  expect(missing.body).toContain('<Code>LoadBalancerNotFound</Code>')
})
