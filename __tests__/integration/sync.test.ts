// discover -> plan -> apply through the real @aws-sdk/client-ec2 against the loopback EC2 emulator.
import { applyPlan } from '../../src/apply.js'
import { discoverRegion } from '../../src/discover.js'
import { buildPlan } from '../../src/plan.js'
import type { CidrsByScope } from '../../src/types.js'
import { Ec2Emulator } from '../../dev/emulators/ec2.js'
import type { GroupSnapshot } from '../../dev/emulators/ec2.js'
import { DEFAULT_OWNERSHIP, regionClients } from '../helpers/sync-fixtures.js'

const ACCOUNT = '123456789012'
const emulator = new Ec2Emulator({ prefixListWeights: { 'pl-0b16': 58 } })
const owner = DEFAULT_OWNERSHIP
const tags = (name = 'cloudfront_g', protocol = 'https') => ({
  Name: name,
  AutoUpdate: 'true',
  Protocol: protocol
})
const net = (n: number) => `10.${Math.floor(n / 256)}.${n % 256}.0/24`
const nets = (from: number, count: number) => Array.from({ length: count }, (_, i) => net(from + i))
const wanted = (global4: string[], global6: string[] = []): CidrsByScope => ({
  global: { ipv4: global4, ipv6: global6 },
  regional: { ipv4: [], ipv6: [] }
})

let apiFor = regionClients(8)

beforeAll(async () => {
  process.env.AWS_ENDPOINT_URL_EC2 = await emulator.start()
  process.env.AWS_ACCESS_KEY_ID = 'AKIDSYNCTEST'
  process.env.AWS_SECRET_ACCESS_KEY = 'sync-test-secret'
})
afterAll(async () => {
  await emulator.stop()
})
beforeEach(() => {
  emulator.reset()
  emulator.rulesPerGroupLimit = 60
  emulator.onStateChange = undefined
  apiFor = regionClients(8)
})

const discover = (region: string, ruleLimit = 60) =>
  discoverRegion(apiFor(ACCOUNT, region), { account: ACCOUNT, region }, owner, ruleLimit)

async function sync(desired: CidrsByScope, regions = ['us-east-1'], maxRulesPerGroup = 60) {
  const inventories = await Promise.all(regions.map(r => discover(r, maxRulesPerGroup)))
  const plan = buildPlan(
    desired,
    inventories.flatMap(i => i.groups),
    { families: ['ipv4', 'ipv6'], maxRemovalsPercent: 100 }
  )
  expect(plan.problems).toEqual([])
  const result = await applyPlan(plan, apiFor, {
    ruleDescription: 'cloudfront-sg-sync',
    syncToken: '1785000000'
  })
  return { plan, result, inventories }
}

const ingressOn = (groupId: string, port = 443): string[] =>
  (emulator.getGroup(groupId) as GroupSnapshot).ingress
    .filter(rule => rule.fromPort === port)
    .map(rule => rule.cidrIpv4 ?? rule.cidrIpv6 ?? '')
    .sort()

describe('sync against the EC2 emulator', () => {
  test('first sync fills a pool of two groups with one authorize each; a rerun makes no mutating call', async () => {
    emulator.rulesPerGroupLimit = 60
    const a = emulator.createGroup({ region: 'us-east-1', vpcId: 'vpc-1', name: 'a', tags: tags() })
    const b = emulator.createGroup({ region: 'us-east-1', vpcId: 'vpc-1', name: 'b', tags: tags() })
    const desired = wanted(nets(0, 100), ['2600:9000::/28'])

    const first = await sync(desired)
    expect(first.result).toMatchObject({ rulesAdded: 101, rulesRemoved: 0, failures: [] })
    expect([...ingressOn(a), ...ingressOn(b)].sort()).toEqual(
      [...nets(0, 100), '2600:9000::/28'].sort()
    )
    // One CreateTags for the region recording the syncToken first, then one authorize per group.
    expect(emulator.mutatingCalls().map(c => c.action)).toEqual([
      'CreateTags',
      'AuthorizeSecurityGroupIngress',
      'AuthorizeSecurityGroupIngress'
    ])
    for (const id of [a, b]) {
      expect(emulator.getGroup(id)?.tags['cloudfront-sg-sync:sync-token']).toBe('1785000000')
    }
    const descriptions = (emulator.getGroup(a) as GroupSnapshot).ingress.map(r => r.description)
    expect(new Set(descriptions)).toEqual(new Set(['cloudfront-sg-sync']))

    const before = emulator.calls.length
    const second = await sync(desired)
    expect(second.plan.totals).toMatchObject({ rulesAdded: 0, rulesRemoved: 0 })
    expect(emulator.calls.slice(before).filter(c => c.mutating)).toEqual([])
    expect(emulator.calls.slice(before).map(c => c.action)).toEqual(['DescribeSecurityGroups'])
  })

  test('foreign rules survive and groups with an unknown Protocol tag are left alone', async () => {
    const a = emulator.createGroup({
      region: 'us-east-1',
      vpcId: 'vpc-1',
      name: 'a',
      tags: tags(),
      ingress: [
        { protocol: 'tcp', fromPort: 22, toPort: 22, cidr: '192.0.2.0/24' },
        {
          protocol: 'tcp',
          fromPort: 443,
          toPort: 443,
          cidr: '198.51.100.0/24',
          description: 'office'
        },
        { protocol: 'tcp', fromPort: 443, toPort: 443, cidr: '203.0.113.0/24' }
      ]
    })
    const odd = emulator.createGroup({
      region: 'us-east-1',
      vpcId: 'vpc-1',
      name: 'odd',
      tags: tags('cloudfront_g', 'gopher')
    })
    const { inventories } = await sync(wanted(nets(0, 2)))
    expect(inventories[0]?.skipped.map(s => s.groupId)).toEqual([odd])
    // Ours without a description (203.0.113.0/24) goes; foreign ones stay.
    expect((emulator.getGroup(a) as GroupSnapshot).ingress.map(r => r.cidrIpv4).sort()).toEqual(
      ['10.0.0.0/24', '10.0.1.0/24', '192.0.2.0/24', '198.51.100.0/24'].sort()
    )
    expect(ingressOn(odd)).toEqual([])
  })

  test('a customer-managed prefix list counts its maximum entries against capacity', async () => {
    emulator.createGroup({
      region: 'us-east-1',
      vpcId: 'vpc-1',
      name: 'a',
      tags: tags(),
      ingress: [{ protocol: 'tcp', fromPort: 22, toPort: 22, prefixListId: 'pl-0b16' }]
    })
    const inventory = await discover('us-east-1')
    expect(inventory.groups[0]?.foreignWeight).toEqual({ ipv4: 58, ipv6: 0 })
    const plan = buildPlan(wanted(nets(0, 3)), inventory.groups, {
      families: ['ipv4'],
      maxRemovalsPercent: 100
    })
    expect(plan.problems.map(p => p.kind)).toEqual(['capacity'])
    expect(emulator.calls.map(c => c.action)).toEqual([
      'DescribeSecurityGroups',
      'DescribeManagedPrefixLists'
    ])
  })

  test('a rule added by someone else between plan and apply is settled by re-reading (Duplicate)', async () => {
    const a = emulator.createGroup({ region: 'us-east-1', vpcId: 'vpc-1', name: 'a', tags: tags() })
    const inventory = await discover('us-east-1')
    const plan = buildPlan(wanted(nets(0, 3)), inventory.groups, {
      families: ['ipv4'],
      maxRemovalsPercent: 100
    })
    await apiFor(ACCOUNT, 'us-east-1').authorize(a, 443, { ipv4: [net(1)], ipv6: [] }, 'by hand')
    const result = await applyPlan(plan, apiFor, { ruleDescription: 'cloudfront-sg-sync' })
    // All three planned rules are in place: the report counts the plan's change.
    expect(result).toMatchObject({ rulesAdded: 3, failures: [] })
    expect(ingressOn(a)).toEqual(nets(0, 3))
    const codes = emulator.calls.filter(c => c.mutating).map(c => c.errorCode ?? 'ok')
    expect(codes).toEqual(['ok', 'InvalidPermission.Duplicate', 'ok'])
  })

  test('a rule removed by someone else before the revoke is settled by re-reading (NotFound)', async () => {
    const a = emulator.createGroup({
      region: 'us-east-1',
      vpcId: 'vpc-1',
      name: 'a',
      tags: tags(),
      ingress: nets(0, 3).map(cidr => ({ protocol: 'tcp', fromPort: 443, toPort: 443, cidr }))
    })
    const inventory = await discover('us-east-1')
    const plan = buildPlan(wanted([net(0)]), inventory.groups, {
      families: ['ipv4'],
      maxRemovalsPercent: 100
    })
    await apiFor(ACCOUNT, 'us-east-1').revoke(a, 443, { ipv4: [net(2)], ipv6: [] })
    const result = await applyPlan(plan, apiFor, { ruleDescription: 'cloudfront-sg-sync' })
    expect(result).toMatchObject({ rulesRemoved: 2, failures: [] })
    expect(ingressOn(a)).toEqual([net(0)])
  })

  test('no wanted address is ever absent while a range moves between groups', async () => {
    const a = emulator.createGroup({
      region: 'us-east-1',
      vpcId: 'vpc-1',
      name: 'a',
      tags: tags(),
      ingress: ['10.0.0.0/24', net(9)].map(cidr => ({
        protocol: 'tcp',
        fromPort: 443,
        toPort: 443,
        cidr
      }))
    })
    const b = emulator.createGroup({
      region: 'us-east-1',
      vpcId: 'vpc-1',
      name: 'b',
      tags: tags(),
      ingress: [{ protocol: 'tcp', fromPort: 443, toPort: 443, cidr: '10.0.1.0/24' }]
    })
    emulator.rulesPerGroupLimit = 2
    const gaps: string[] = []
    emulator.onStateChange = snapshot => {
      const held = snapshot
        .filter(g => g.groupId === a || g.groupId === b)
        .flatMap(g => g.ingress.map(r => r.cidrIpv4))
      const covered =
        held.includes('10.0.0.0/23') ||
        (held.includes('10.0.0.0/24') && held.includes('10.0.1.0/24'))
      if (!covered || !held.includes(net(9))) gaps.push(held.join(','))
    }
    const { result } = await sync(wanted(['10.0.0.0/23', net(9)]), ['us-east-1'], 2)
    expect(result.failures).toEqual([])
    expect(gaps).toEqual([])
    expect([...ingressOn(a), ...ingressOn(b)].sort()).toEqual(['10.0.0.0/23', net(9)].sort())
  })

  test('regions are independent and synced in one run; throttling storms still converge', async () => {
    const east = emulator.createGroup({
      region: 'us-east-1',
      vpcId: 'vpc-1',
      name: 'e',
      tags: tags()
    })
    const west = emulator.createGroup({
      region: 'eu-west-1',
      vpcId: 'vpc-2',
      name: 'w',
      tags: tags()
    })
    emulator.faults = { throttleRate: 0.3, seed: 7 }
    const { result } = await sync(wanted(nets(0, 20)), ['us-east-1', 'eu-west-1'])
    emulator.faults = {}
    expect(result.failures).toEqual([])
    expect(ingressOn(east)).toEqual(nets(0, 20).sort())
    expect(ingressOn(west)).toEqual(nets(0, 20).sort())
    expect(emulator.calls.some(c => c.errorCode === 'RequestLimitExceeded')).toBe(true)
  })
})
