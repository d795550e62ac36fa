// The pure part of grow-pools: how many groups a short pool needs and where the overflow goes
// (virtual members with full capacity), and where new groups may be attached or why not.
import type { Attachment } from '../../src/audit/attachment.js'
import type { GrowthInterface, GrowthNeed } from '../../src/grow/plan.js'
import {
  decideGrowth,
  growthNeeds,
  isPlaceholder,
  MAX_NEW_GROUPS_PER_POOL,
  planWithGrowth,
  resolvePlaceholders
} from '../../src/grow/plan.js'
import type { ManagedGroup } from '../../src/inventory.js'
import { poolId } from '../../src/plan.js'
import type { CidrsByScope } from '../../src/types.js'

const TAGS = { autoUpdateTag: 'AutoUpdate', protocolTag: 'Protocol' }
const OPTIONS = { families: ['ipv4' as const], maxRemovalsPercent: 100, maxGrowthPercent: 1e9 }

function group(groupId: string, cidrs: string[], extra: Partial<ManagedGroup> = {}): ManagedGroup {
  return {
    account: '111122223333',
    region: 'us-east-1',
    groupId,
    groupName: groupId,
    vpcId: 'vpc-1',
    nameTag: 'cloudfront_g',
    scope: 'global',
    protocol: 'https',
    port: 443,
    managed: { ipv4: cidrs.map(cidr => ({ cidr, raw: cidr })), ipv6: [] },
    ruleLimit: 2,
    foreignWeight: { ipv4: 0, ipv6: 0 },
    foreignOnPort: { ipv4: [], ipv6: [] },
    ...extra
  }
}

const wanted = (n: number): CidrsByScope => ({
  global: { ipv4: Array.from({ length: n }, (_, i) => `10.${i}.0.0/16`), ipv6: [] },
  regional: { ipv4: [], ipv6: [] }
})

const instance = (id: string, groupIds: string[]): GrowthInterface => ({
  id,
  groupIds,
  attachment: { kind: 'instance', instanceId: `i-${id}` }
})

test('a pool short of slots gets just enough virtual groups, and only they take the overflow', () => {
  const g1 = group('sg-1', ['10.0.0.0/16', '10.1.0.0/16'])
  const { plan, newGroups } = planWithGrowth(wanted(5), [g1], OPTIONS, TAGS)
  expect(plan.problems).toEqual([])
  expect(newGroups.map(g => g.groupName)).toEqual([
    'cloudfront-sg-sync-global-443-2',
    'cloudfront-sg-sync-global-443-3'
  ])
  expect(newGroups[0]?.tags).toEqual({
    Name: 'cloudfront_g',
    AutoUpdate: 'true',
    Protocol: 'https',
    'cloudfront-sg-sync:created-by': 'grow-pools'
  })
  // EC2's character set for descriptions (CreateSecurityGroup).
  for (const g of newGroups) expect(g.description).toMatch(/^[a-zA-Z0-9 ._\-:/()#,@[\]+=&;{}!$*]+$/)
  const changes = plan.pools[0]?.groups ?? []
  expect(changes.find(c => c.groupId === 'sg-1')?.add.ipv4).toEqual([])
  const added = changes.filter(c => isPlaceholder(c.groupId)).flatMap(c => c.add.ipv4)
  expect(added.sort()).toEqual(['10.2.0.0/16', '10.3.0.0/16', '10.4.0.0/16'])
})

test('a pool that fits gets no group; one that needs too many keeps its capacity problem', () => {
  expect(planWithGrowth(wanted(2), [group('sg-1', [])], OPTIONS, TAGS).newGroups).toEqual([])
  const tooMany = planWithGrowth(
    wanted(2 * (MAX_NEW_GROUPS_PER_POOL + 1) + 1),
    [group('sg-1', [])],
    OPTIONS,
    TAGS
  )
  expect(tooMany.plan.problems.map(p => p.kind)).toEqual(['capacity'])
})

test('placeholders resolve to the ids EC2 gave', () => {
  const { plan, newGroups } = planWithGrowth(wanted(3), [group('sg-1', [])], OPTIONS, TAGS)
  const id = newGroups[0]?.placeholderId as string
  const resolved = resolvePlaceholders(plan, new Map([[id, 'sg-0abc']]))
  expect(resolved.pools[0]?.groups.map(g => g.groupId)).toEqual(['sg-1', 'sg-0abc'])
})

const need = (adding: string[], members = ['sg-1', 'sg-2']): GrowthNeed => ({
  poolId: 'p',
  members,
  adding
})

test('attaches to every interface carrying the whole pool, keeping its other groups', () => {
  const decision = decideGrowth(
    [need(['sg-new-1'])],
    [instance('eni-a', ['sg-1', 'sg-2', 'sg-app']), instance('eni-b', ['sg-2', 'sg-1'])],
    5
  )
  expect(decision.refusals).toEqual([])
  expect(decision.attach.map(a => [a.interfaceId, a.groupIds])).toEqual([
    ['eni-a', ['sg-1', 'sg-2', 'sg-app', 'sg-new-1']],
    ['eni-b', ['sg-2', 'sg-1', 'sg-new-1']]
  ])
})

test.each<[string, GrowthInterface[], RegExp]>([
  [
    'an interface is full',
    [instance('eni-a', ['sg-1', 'sg-2', 'x', 'y', 'z'])],
    /eni-a \(instance i-eni-a\) carries 5 .* allows 5/
  ],
  ['the pool is partial', [instance('eni-a', ['sg-1'])], /eni-a .* carries only part .*sg-2/],
  ['nothing carries the pool', [], /no network interface carries it/],
  [
    'a gateway load balancer carries it',
    [
      {
        id: 'eni-l',
        groupIds: ['sg-1', 'sg-2'],
        attachment: { kind: 'load-balancer', type: 'gateway', name: 'inspect' }
      }
    ],
    /gateway load balancer inspect.*does not change/
  ],
  [
    'a load balancer was not described',
    [
      {
        id: 'eni-l',
        groupIds: ['sg-1', 'sg-2'],
        attachment: { kind: 'load-balancer', type: 'application', name: 'shop' }
      }
    ],
    /DescribeLoadBalancers did not return load balancer shop/
  ],
  [
    'a service manages the interface',
    [
      {
        id: 'eni-f',
        groupIds: ['sg-1', 'sg-2'],
        attachment: {
          kind: 'other',
          interfaceType: 'lambda',
          description: 'AWS Lambda VPC ENI',
          requesterId: 'AROAEXAMPLE:fn'
        } as Attachment
      }
    ],
    /managed by a service \(AROAEXAMPLE:fn\)/
  ]
])('refused, attaching nothing, when %s', (_, interfaces, message) => {
  const decision = decideGrowth(
    [need(['sg-new-1'])],
    // Beside an interface where growth would be fine: one refusal stops it everywhere.
    interfaces.length > 0 ? [...interfaces, instance('eni-ok', ['sg-1', 'sg-2'])] : [],
    5
  )
  expect(decision.refusals.join(' ')).toMatch(message)
  expect(decision.attach).toEqual([])
})

test('a load balancer gets its groups plus the new ones, once, whatever its interfaces', () => {
  const lbEni = (id: string): GrowthInterface => ({
    id,
    groupIds: ['sg-1', 'sg-2', 'sg-base'],
    attachment: { kind: 'load-balancer', type: 'application', name: 'shop' }
  })
  const lb = {
    arn: 'arn:lb/shop',
    name: 'shop',
    type: 'application',
    groupIds: ['sg-base', 'sg-1', 'sg-2']
  }
  const decision = decideGrowth(
    [need(['sg-new-1'])],
    [lbEni('eni-1'), lbEni('eni-2')],
    5,
    new Map([['shop', lb]])
  )
  expect(decision.refusals).toEqual([])
  expect(decision.attach).toEqual([])
  expect(decision.attachLoadBalancers).toEqual([
    {
      arn: 'arn:lb/shop',
      groupIds: ['sg-base', 'sg-1', 'sg-2', 'sg-new-1'],
      what: 'application load balancer shop'
    }
  ])
})

test('a created group some carrier of the pool lacks is attached again; one in place is not', () => {
  const base = group('sg-1', [])
  const placed = group('sg-2', [], { createdByAction: true })
  const orphan = group('sg-3', [], { createdByAction: true })
  const interfaces = [instance('eni-a', ['sg-1', 'sg-2'])]
  expect(growthNeeds([], [base, placed, orphan], interfaces)).toEqual([
    { poolId: poolId(base), members: ['sg-1', 'sg-2'], adding: ['sg-3'] }
  ])
  expect(growthNeeds([], [base, placed], interfaces)).toEqual([])
})
