// The EC2 call budget of a sync (issue 6), asserted exactly: call counts are deterministic, so a
// regression in calls fails here rather than only showing in `npm run bench`. No timing thresholds:
// latency is injected only so that overlapping requests are observable.
// discover -> plan -> apply through the real @aws-sdk/client-ec2 against the loopback EC2 emulator.
import { applyPlan } from '../../src/apply.js'
import { discoverRegion } from '../../src/discover.js'
import type { GroupLocation } from '../../src/inventory.js'
import { buildPlan } from '../../src/plan.js'
import { selectRanges } from '../../src/ranges/select.js'
import type { CidrsByScope } from '../../src/types.js'
import { DEFAULT_ACCOUNT_ID, Ec2Emulator } from '../../dev/emulators/ec2.js'
import type { Ec2Call } from '../../dev/emulators/ec2.js'
import { deriveIpRanges, generateIpRanges } from '../../dev/ip-ranges-fixture.js'
import { DEFAULT_OWNERSHIP, regionClients } from '../helpers/sync-fixtures.js'

const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-2', 'sa-east-1']
// Per region one VPC; per protocol a global pool of 3 groups and a regional pool of 2: 10 groups.
const LAYOUT = [
  { name: 'cloudfront_g', protocol: 'http', count: 3 },
  { name: 'cloudfront_r', protocol: 'http', count: 2 },
  { name: 'cloudfront_g', protocol: 'https', count: 3 },
  { name: 'cloudfront_r', protocol: 'https', count: 2 }
]
const GROUPS_PER_REGION = LAYOUT.reduce((sum, pool) => sum + pool.count, 0)
const LATENCY_MS = 20
const location = (region: string): GroupLocation => ({
  account: DEFAULT_ACCOUNT_ID,
  region,
  ruleLimit: 60
})

const emulator = new Ec2Emulator()
const owner = DEFAULT_OWNERSHIP

// Realistic CLOUDFRONT sets (118 GLOBAL + 93 regional IPv4, 32 IPv6) and a typical change.
const published = generateIpRanges({ seed: 61, otherServicesScale: 0 })
const change = deriveIpRanges(published, { seed: 62, add: 1, remove: 1 })
const select = (doc: typeof published): CidrsByScope =>
  selectRanges(doc, { service: 'CLOUDFRONT', families: ['ipv4', 'ipv6'], mergeAdjacent: false })
    .cidrs
const before = select(published)
const after = select(change.doc)

let apiFor = regionClients()

beforeAll(async () => {
  process.env.AWS_ENDPOINT_URL_EC2 = await emulator.start()
  process.env.AWS_ACCESS_KEY_ID = 'AKIDCALLCOUNTS'
  process.env.AWS_SECRET_ACCESS_KEY = 'call-counts-secret'
})
afterAll(async () => {
  await emulator.stop()
})
beforeEach(() => {
  emulator.reset()
  emulator.rulesPerGroupLimit = 60
  emulator.faults = { latencyMs: LATENCY_MS }
  apiFor = regionClients()
})

function seed(regions = REGIONS): void {
  for (const region of regions) {
    for (const { name, protocol, count } of LAYOUT) {
      for (let i = 0; i < count; i += 1) {
        emulator.createGroup({
          region,
          vpcId: 'vpc-0c0ffee',
          name: `${name}-${protocol}-${i}`,
          tags: { Name: name, AutoUpdate: 'true', Protocol: protocol }
        })
      }
    }
  }
}

async function sync(desired: CidrsByScope): Promise<Ec2Call[]> {
  const from = emulator.calls.length
  const inventories = await Promise.all(
    REGIONS.map(r => discoverRegion(apiFor(DEFAULT_ACCOUNT_ID, r), location(r), owner, 60))
  )
  const plan = buildPlan(
    desired,
    inventories.flatMap(inventory => inventory.groups),
    { families: ['ipv4', 'ipv6'], maxRemovalsPercent: 100 }
  )
  expect(plan.problems).toEqual([])
  const result = await applyPlan(plan, apiFor, { ruleDescription: 'cloudfront-sg-sync' })
  expect(result.failures).toEqual([])
  return emulator.calls.slice(from)
}

function byAction(calls: Ec2Call[]): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const call of calls) counts[call.action] = (counts[call.action] ?? 0) + 1
  return counts
}

/** Calls of one action per security group. */
function perGroup(calls: Ec2Call[], action: string): Map<string, number> {
  const counts = new Map<string, number>()
  for (const call of calls.filter(c => c.action === action)) {
    const group = call.params.GroupId ?? ''
    counts.set(group, (counts.get(group) ?? 0) + 1)
  }
  return counts
}

const rulesIn = (call: Ec2Call): number =>
  Object.keys(call.params).filter(key =>
    /^IpPermissions\.\d+\.(IpRanges\.\d+\.CidrIp|Ipv6Ranges\.\d+\.CidrIpv6)$/.test(key)
  ).length

describe('EC2 call budget', () => {
  test('first sync at org shape: one describe per region, one authorize per group, nothing else', async () => {
    seed()
    const calls = await sync(before)

    expect(byAction(calls)).toEqual({
      DescribeSecurityGroups: REGIONS.length,
      AuthorizeSecurityGroupIngress: REGIONS.length * GROUPS_PER_REGION
    })
    for (const region of REGIONS) {
      expect(calls.filter(c => c.region === region && !c.mutating)).toHaveLength(1)
    }
    const authorizes = perGroup(calls, 'AuthorizeSecurityGroupIngress')
    expect(authorizes.size).toBe(REGIONS.length * GROUPS_PER_REGION)
    expect(Math.max(...authorizes.values())).toBe(1)
    // Every published range, on both ports, in every region: all of it in those 40 calls.
    const perRegion =
      2 * (before.global.ipv4.length + before.global.ipv6.length + before.regional.ipv4.length)
    expect(calls.reduce((sum, call) => sum + rulesIn(call), 0)).toBe(REGIONS.length * perRegion)
  })

  test('regions are worked on at the same time, and so are groups within a region', async () => {
    seed()
    await sync(before)

    // Structural, not a timing threshold: with latency on every call, the emulator saw requests
    // of every region in flight at one moment, and in each region exactly as many at once as the
    // per-region limit allows (4), across all of the region's pools, never more.
    expect(emulator.concurrency.regions).toBe(REGIONS.length)
    for (const region of REGIONS) {
      expect(emulator.concurrency.byRegion.get(region)).toBe(4)
    }
  })

  test('a rerun with nothing changed: one describe per region and no mutating call', async () => {
    seed()
    await sync(before)
    const calls = await sync(before)

    expect(byAction(calls)).toEqual({ DescribeSecurityGroups: REGIONS.length })
    expect(calls.filter(call => call.mutating)).toEqual([])
  })

  test('one range added and one removed: one rule in and one out per affected pool', async () => {
    seed()
    await sync(before)
    const calls = await sync(after)

    // The change is one GLOBAL IPv4 range: it touches the global pool of each port in each region.
    const affectedPools = REGIONS.length * 2
    expect(byAction(calls)).toEqual({
      DescribeSecurityGroups: REGIONS.length,
      AuthorizeSecurityGroupIngress: affectedPools,
      RevokeSecurityGroupIngress: affectedPools
    })
    expect(Math.max(...perGroup(calls, 'AuthorizeSecurityGroupIngress').values())).toBe(1)
    expect(Math.max(...perGroup(calls, 'RevokeSecurityGroupIngress').values())).toBe(1)
    const moved = (action: string) =>
      calls.filter(c => c.action === action).reduce((sum, call) => sum + rulesIn(call), 0)
    expect(moved('AuthorizeSecurityGroupIngress')).toBe(affectedPools)
    expect(moved('RevokeSecurityGroupIngress')).toBe(affectedPools)
    for (const call of calls.filter(c => c.mutating)) {
      const cidr =
        call.params['IpPermissions.1.IpRanges.1.CidrIp'] ??
        call.params['IpPermissions.1.Ipv6Ranges.1.CidrIpv6']
      expect(cidr).toBe(
        call.action === 'AuthorizeSecurityGroupIngress' ? change.added[0] : change.removed[0]
      )
    }
  })

  test('more groups than one page holds: one describe per page', async () => {
    emulator.faults = {}
    // DescribeSecurityGroups returns at most 1000 groups a page (MaxResults 5-1000).
    for (let i = 0; i < 1001; i += 1) {
      emulator.createGroup({
        region: 'us-east-1',
        vpcId: 'vpc-0c0ffee',
        name: `edge-${i}`,
        tags: { Name: 'cloudfront_g', AutoUpdate: 'true', Protocol: 'https' }
      })
    }
    const inventory = await discoverRegion(
      apiFor(DEFAULT_ACCOUNT_ID, 'us-east-1'),
      location('us-east-1'),
      owner,
      60
    )

    expect(inventory.groups).toHaveLength(1001)
    expect(emulator.calls.map(call => call.action)).toEqual([
      'DescribeSecurityGroups',
      'DescribeSecurityGroups'
    ])
  })
})
