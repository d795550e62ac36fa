// The exposure audit's judgement, pure: each finding kind on its own, then all together.
import type { IpPermission } from '@aws-sdk/client-ec2'
import { attachmentOf, describeAttachment } from '../../src/audit/attachment.js'
import type {
  AuditGroup,
  AuditInterface,
  AuditPool,
  AuditPrefixList,
  RegionAuditInput
} from '../../src/audit/exposure.js'
import { countExposure, evaluateRegion } from '../../src/audit/exposure.js'
import { classifyCidr, coversTcpPort } from '../../src/audit/sources.js'

const CLOUDFRONT = { ipv4: ['13.32.0.0/15', '52.84.0.0/15'], ipv6: ['2600:9000::/28'] }
const POOL_ID = '111122223333/us-east-1/vpc-1/global/tcp:443'

const pool = (overrides: Partial<AuditPool> = {}): AuditPool => ({
  id: POOL_ID,
  account: '111122223333',
  region: 'us-east-1',
  vpcId: 'vpc-1',
  port: 443,
  groupIds: ['sg-g1', 'sg-g2'],
  needsGroups: false,
  ruleLimit: 60,
  ...overrides
})

const alb: AuditInterface['attachment'] = {
  kind: 'load-balancer',
  type: 'application',
  name: 'web-alb'
}

const eni = (
  id: string,
  groupIds: string[],
  attachment: AuditInterface['attachment'] = alb
): AuditInterface => ({
  id,
  groupIds,
  attachment
})

const tcp = (port: number, cidrs: string[], description?: string): IpPermission => ({
  IpProtocol: 'tcp',
  FromPort: port,
  ToPort: port,
  IpRanges: cidrs
    .filter(c => !c.includes(':'))
    .map(c => ({ CidrIp: c, ...(description ? { Description: description } : {}) })),
  Ipv6Ranges: cidrs.filter(c => c.includes(':')).map(c => ({ CidrIpv6: c }))
})

const group = (groupId: string, permissions: IpPermission[] = []): AuditGroup => ({
  groupId,
  groupName: groupId,
  permissions
})

function input(parts: Partial<RegionAuditInput> = {}): RegionAuditInput {
  const groups = [
    group('sg-g1', [tcp(443, ['13.32.0.0/15'], 'cloudfront-sg-sync')]),
    group('sg-g2', [tcp(443, ['52.84.0.0/15'])])
  ]
  return {
    account: '111122223333',
    region: 'us-east-1',
    pools: [pool()],
    interfaces: [eni('eni-a', ['sg-g1', 'sg-g2'])],
    groups: new Map(groups.map(g => [g.groupId, g])),
    prefixLists: new Map(),
    cloudFront: CLOUDFRONT,
    ruleDescription: 'cloudfront-sg-sync',
    groupsPerInterface: 5,
    ...parts
  }
}

const withGroups = (...extra: AuditGroup[]) =>
  new Map([...input().groups, ...extra.map(g => [g.groupId, g] as const)])

describe('a clean origin', () => {
  test('a whole pool holding only CloudFront ranges has no finding', () => {
    expect(evaluateRegion(input())).toEqual([])
  })
})

describe('partial pool', () => {
  test('an interface carrying one of two groups names the missing group and its owner', () => {
    const findings = evaluateRegion(input({ interfaces: [eni('eni-a', ['sg-g1'])] }))
    expect(findings).toHaveLength(1)
    expect(findings[0]).toMatchObject({
      kind: 'partial-pool',
      severity: 'high',
      interfaceId: 'eni-a',
      pool: POOL_ID,
      port: 443,
      missingGroups: ['sg-g2']
    })
    expect(findings[0]?.message).toContain('application load balancer web-alb')
    expect(countExposure(findings)).toBe(1)
  })
})

describe('wider exposure', () => {
  test.each([
    ['0.0.0.0/0 on the port', tcp(443, ['0.0.0.0/0']), '0.0.0.0/0'],
    ['::/0 on the port', tcp(443, ['::/0']), '::/0'],
    ['another public CIDR', tcp(443, ['198.51.100.0/24']), '198.51.100.0/24'],
    [
      'all traffic',
      { IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] } as IpPermission,
      'all traffic'
    ],
    [
      'a port range covering the port',
      { IpProtocol: 'tcp', FromPort: 0, ToPort: 65535, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
      'tcp/0-65535'
    ],
    ['a CIDR wider than a CloudFront range', tcp(443, ['13.32.0.0/14']), '13.32.0.0/14']
  ])('%s in an unmanaged group on the interface', (_name, permission, shown) => {
    const findings = evaluateRegion(
      input({
        interfaces: [eni('eni-a', ['sg-g1', 'sg-g2', 'sg-open'])],
        groups: withGroups(group('sg-open', [permission]))
      })
    )
    expect(findings.map(f => f.kind)).toEqual(['wider-exposure'])
    expect(findings[0]?.sources?.join(' ')).toContain(shown)
    expect(findings[0]?.sources?.join(' ')).toContain('sg-open')
  })

  test('a foreign rule inside a managed group counts too', () => {
    const findings = evaluateRegion(
      input({
        groups: withGroups(
          group('sg-g2', [tcp(443, ['52.84.0.0/15']), tcp(443, ['0.0.0.0/0'], 'office')])
        )
      })
    )
    expect(findings.map(f => f.kind)).toEqual(['wider-exposure'])
  })

  test('a customer prefix list holding a public CIDR counts; one holding CloudFront does not', () => {
    const lists = new Map<string, AuditPrefixList>([
      ['pl-open', { id: 'pl-open', name: 'partners', entries: ['10.1.0.0/16', '203.0.113.0/24'] }],
      ['pl-cf', { id: 'pl-cf', name: 'copied-cf', entries: ['13.32.0.0/16'] }]
    ])
    const refs = (id: string): IpPermission => ({
      IpProtocol: 'tcp',
      FromPort: 443,
      ToPort: 443,
      PrefixListIds: [{ PrefixListId: id }]
    })
    const findings = evaluateRegion(
      input({
        interfaces: [eni('eni-a', ['sg-g1', 'sg-g2', 'sg-x'])],
        groups: withGroups(group('sg-x', [refs('pl-open'), refs('pl-cf')])),
        prefixLists: lists
      })
    )
    expect(findings.map(f => f.kind)).toEqual(['wider-exposure'])
    expect(findings[0]?.sources).toEqual([
      'prefix list pl-open (partners) holding 203.0.113.0/24 via sg-x (tcp/443)'
    ])
  })

  test('other ports and other protocols do not count', () => {
    const findings = evaluateRegion(
      input({
        interfaces: [eni('eni-a', ['sg-g1', 'sg-g2', 'sg-ssh'])],
        groups: withGroups(
          group('sg-ssh', [
            tcp(22, ['0.0.0.0/0']),
            { IpProtocol: 'udp', FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }
          ])
        )
      })
    )
    expect(findings).toEqual([])
  })
})

describe('informational findings', () => {
  test('private sources and group references are notes, not exposure', () => {
    const findings = evaluateRegion(
      input({
        interfaces: [eni('eni-a', ['sg-g1', 'sg-g2', 'sg-int'])],
        groups: withGroups(
          group('sg-int', [
            tcp(443, ['10.0.0.0/16', '100.64.0.0/10', 'fd00::/8', '169.254.0.0/16']),
            {
              IpProtocol: 'tcp',
              FromPort: 443,
              ToPort: 443,
              UserIdGroupPairs: [{ GroupId: 'sg-lb' }]
            }
          ])
        )
      })
    )
    expect(findings.map(f => f.kind)).toEqual(['private-source'])
    expect(findings[0]?.sources).toHaveLength(5)
    expect(countExposure(findings)).toBe(0)
  })

  test("the pool's own rule outside CloudFront's ranges (not yet revoked) is a note", () => {
    const findings = evaluateRegion(
      input({ groups: withGroups(group('sg-g2', [tcp(443, ['52.84.0.0/15', '198.51.100.0/24'])])) })
    )
    expect(findings.map(f => f.kind)).toEqual(['private-source'])
    expect(findings[0]?.sources).toEqual(["the pool's own 198.51.100.0/24 via sg-g2 (tcp/443)"])
  })

  test('an unattached pool is a note', () => {
    const findings = evaluateRegion(input({ interfaces: [] }))
    expect(findings.map(f => [f.kind, f.severity])).toEqual([['unattached-pool', 'info']])
  })

  test("the AWS-managed CloudFront list is 'already allowed', with its weight against the quota", () => {
    const cf = new Map<string, AuditPrefixList>([
      ['pl-3b927c52', { id: 'pl-3b927c52', name: 'com.amazonaws.global.cloudfront.origin-facing' }]
    ])
    const ref: IpPermission = {
      IpProtocol: 'tcp',
      FromPort: 443,
      ToPort: 443,
      PrefixListIds: [{ PrefixListId: 'pl-3b927c52' }]
    }
    const fits = evaluateRegion(
      input({
        interfaces: [
          eni('eni-a', ['sg-g1', 'sg-g2', 'sg-cf']),
          eni('eni-b', ['sg-g1', 'sg-g2', 'sg-cf'])
        ],
        groups: withGroups(group('sg-cf', [ref])),
        prefixLists: cf
      })
    )
    // One note per pool and list, not one per interface.
    expect(fits.map(f => f.kind)).toEqual(['cloudfront-prefix-list'])
    expect(fits[0]?.message).toContain('weighs 55 rules')
    expect(fits[0]?.message).toContain('fits in one group alone')
    const tight = evaluateRegion(
      input({
        pools: [pool({ ruleLimit: 50 })],
        interfaces: [eni('eni-a', ['sg-g1', 'sg-g2', 'sg-cf'])],
        groups: withGroups(group('sg-cf', [ref])),
        prefixLists: cf
      })
    )
    expect(tight[0]?.message).toContain('does not fit one group')
  })
})

describe('no room to grow', () => {
  const full = ['sg-g1', 'sg-g2', 'sg-a', 'sg-b', 'sg-c']
  test('a pool that needs a group, on an interface with no free slot', () => {
    const findings = evaluateRegion(
      input({ pools: [pool({ needsGroups: true })], interfaces: [eni('eni-a', full)] })
    )
    expect(findings.map(f => f.kind)).toEqual(['no-room'])
    expect(findings[0]?.message).toContain('L-2AFB9258')
    expect(findings[0]?.sources?.[0]).toContain('eni-a')
  })

  test('not reported when the pool does not need a group, or the quota leaves a slot', () => {
    expect(evaluateRegion(input({ interfaces: [eni('eni-a', full)] }))).toEqual([])
    expect(
      evaluateRegion(
        input({
          pools: [pool({ needsGroups: true })],
          interfaces: [eni('eni-a', full)],
          groupsPerInterface: 6
        })
      )
    ).toEqual([])
  })
})

test('all kinds together come out worst first, and only partial and wider are counted', () => {
  const second = pool({
    id: '111122223333/us-east-1/vpc-1/regional/tcp:443',
    groupIds: ['sg-r1'],
    needsGroups: true
  })
  const third = pool({
    id: '111122223333/us-east-1/vpc-2/global/tcp:80',
    port: 80,
    groupIds: ['sg-w']
  })
  const findings = evaluateRegion(
    input({
      pools: [pool(), second, third],
      interfaces: [
        eni('eni-a', ['sg-g1', 'sg-open', 'sg-int', 'sg-r1', 'sg-x']),
        eni('eni-b', ['sg-g1', 'sg-g2'], { kind: 'instance', instanceId: 'i-0abc' })
      ],
      groups: withGroups(
        group('sg-open', [tcp(443, ['0.0.0.0/0'])]),
        group('sg-int', [tcp(443, ['192.168.0.0/16'])]),
        group('sg-r1'),
        group('sg-x')
      )
    })
  )
  expect(findings.map(f => f.kind)).toEqual([
    'wider-exposure', // global pool on eni-a
    'wider-exposure', // regional pool on eni-a
    'partial-pool', // eni-a lacks sg-g2
    'no-room', // the regional pool needs a group; eni-a is full
    'unattached-pool', // vpc-2 pool
    'private-source',
    'private-source'
  ])
  expect(countExposure(findings)).toBe(3)
})

describe('sources and attachments', () => {
  test('CloudFront ranges, private blocks and the public internet', () => {
    expect(classifyCidr('13.32.4.0/24', CLOUDFRONT)).toBe('cloudfront')
    expect(classifyCidr('2600:9000:1::/48', CLOUDFRONT)).toBe('cloudfront')
    expect(classifyCidr('172.31.0.0/16', CLOUDFRONT)).toBe('private')
    expect(classifyCidr('fe80::/64', CLOUDFRONT)).toBe('private')
    expect(classifyCidr('10.0.0.0/7', CLOUDFRONT)).toBe('public')
    expect(classifyCidr('0.0.0.0/0', CLOUDFRONT)).toBe('public')
  })

  test('port coverage: all traffic, ranges, numbered tcp', () => {
    expect(coversTcpPort({ IpProtocol: '-1' }, 443)).toBe(true)
    expect(coversTcpPort({ IpProtocol: '6', FromPort: 400, ToPort: 500 }, 443)).toBe(true)
    expect(coversTcpPort({ IpProtocol: 'tcp', FromPort: 444, ToPort: 500 }, 443)).toBe(false)
    expect(coversTcpPort({ IpProtocol: 'udp', FromPort: 0, ToPort: 65535 }, 443)).toBe(false)
  })

  test('load balancers by description and type, instances by attachment', () => {
    const name = (eni: Parameters<typeof attachmentOf>[0]) => describeAttachment(attachmentOf(eni))
    expect(
      name({ Description: 'ELB app/web-alb/50dc6c495c0c9188', RequesterId: 'amazon-elb' })
    ).toBe('application load balancer web-alb')
    expect(
      name({ Description: 'ELB net/edge/50dc6c495f0c9188', InterfaceType: 'network_load_balancer' })
    ).toBe('network load balancer edge')
    expect(name({ Description: 'ELB legacy', RequesterId: 'amazon-elb' })).toBe(
      'classic load balancer legacy'
    )
    expect(name({ Attachment: { InstanceId: 'i-0abc' } })).toBe('instance i-0abc')
    expect(
      name({ InterfaceType: 'lambda', Description: 'AWS Lambda VPC ENI-fn', RequesterId: 'x' })
    ).toBe('lambda interface, "AWS Lambda VPC ENI-fn", managed by x')
  })
})
