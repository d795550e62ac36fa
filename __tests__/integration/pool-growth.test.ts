// grow-pools through the real SDK over loopback HTTP against the EC2 emulator: a full pool on an
// instance grows (create -> attach -> authorize -> revoke, no address of the pool ever missing from
// the interface), the rerun changes nothing, and growth is refused before any change where an
// interface is full, the pool is partial, or the interface is a load balancer's.
import { applyPlan } from '../../src/apply.js'
import { createAuditEc2Api } from '../../src/audit/ec2-reads.js'
import { discoverRegion } from '../../src/discover.js'
import { createGrowthEc2Api } from '../../src/grow/ec2-writes.js'
import { createLoadBalancerApi } from '../../src/grow/elbv2.js'
import { CREATED_BY_TAG, planWithGrowth, resolvePlaceholders } from '../../src/grow/plan.js'
import type { GrowthPlace } from '../../src/grow/step.js'
import { executeGrowth, prepareGrowth, removableGroups } from '../../src/grow/step.js'
import type { CidrsByScope } from '../../src/types.js'
import { Ec2Emulator } from '../../dev/emulators/ec2.js'
import type { GroupSnapshot } from '../../dev/emulators/ec2.js'
import { Elbv2Emulator } from '../../dev/emulators/elbv2.js'
import { DEFAULT_OWNERSHIP, regionClients } from '../helpers/sync-fixtures.js'

const REGION = 'us-east-1'
const ACCOUNT = '000000000000'
const VPC = 'vpc-0d3fa017000000000'
const LIMIT = 3
const emulator = new Ec2Emulator({ rulesPerGroupLimit: LIMIT })
const elbv2 = new Elbv2Emulator(emulator)
let apiFor = regionClients(8)

beforeAll(async () => {
  process.env.AWS_ENDPOINT_URL_EC2 = await emulator.start()
  process.env.AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2 = await elbv2.start()
  process.env.AWS_ACCESS_KEY_ID = 'AKIDGROWTEST'
  process.env.AWS_SECRET_ACCESS_KEY = 'grow-test-secret'
})
afterAll(async () => {
  delete process.env.AWS_ENDPOINT_URL_EC2
  delete process.env.AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2
  await emulator.stop()
  await elbv2.stop()
})
beforeEach(() => {
  emulator.reset()
  elbv2.reset()
  emulator.rulesPerGroupLimit = LIMIT
  emulator.onStateChange = undefined
  apiFor = regionClients(8)
})

const wanted = (cidrs: string[]): CidrsByScope => ({
  global: { ipv4: cidrs, ipv6: [] },
  regional: { ipv4: [], ipv6: [] }
})

const place: GrowthPlace = {
  account: ACCOUNT,
  region: REGION,
  reads: createAuditEc2Api({ region: REGION }),
  writes: createGrowthEc2Api({ region: REGION }),
  loadBalancers: createLoadBalancerApi({ region: REGION }),
  groupsPerInterface: async () => ({ value: 5 })
}

function pooled(name: string, cidrs: string[], tags: Record<string, string> = {}): string {
  return emulator.createGroup({
    region: REGION,
    vpcId: VPC,
    name,
    tags: { Name: 'cloudfront_g', AutoUpdate: 'true', Protocol: 'https', ...tags },
    ingress: cidrs.map(cidr => ({
      protocol: 'tcp',
      fromPort: 443,
      toPort: 443,
      cidr,
      description: 'cloudfront-sg-sync'
    }))
  })
}

const other = (name: string) => emulator.createGroup({ region: REGION, vpcId: VPC, name, tags: {} })

/** What main does with grow-pools: true, in process. */
async function growAndSync(desired: CidrsByScope) {
  const inventory = await discoverRegion(
    apiFor(ACCOUNT, REGION),
    { account: ACCOUNT, region: REGION },
    DEFAULT_OWNERSHIP,
    LIMIT
  )
  const options = { families: ['ipv4' as const], maxRemovalsPercent: 100, maxGrowthPercent: 1e6 }
  const { plan, newGroups } = planWithGrowth(desired, inventory.groups, options, {
    autoUpdateTag: 'AutoUpdate',
    protocolTag: 'Protocol'
  })
  expect(plan.problems).toEqual([])
  const prepared = await prepareGrowth(newGroups, inventory.groups, () => place)
  if (prepared.refusals.length > 0)
    return { refusals: prepared.refusals, plan, groups: inventory.groups }
  const { ids, created } = await executeGrowth(
    newGroups,
    prepared,
    () => place,
    () => {}
  )
  const applied = await applyPlan(resolvePlaceholders(plan, ids), apiFor, {
    ruleDescription: 'cloudfront-sg-sync',
    syncToken: '1785000000'
  })
  expect(applied.failures).toEqual([])
  return { refusals: [], created, plan, groups: inventory.groups }
}

const mutations = () => emulator.calls.filter(call => call.mutating && call.ok).map(c => c.action)

/** The CIDRs the interface's groups allow on tcp/443 in a snapshot. */
function allowedOn(eniId: string, snapshot: GroupSnapshot[]): Set<string> {
  const eni = emulator.listNetworkInterfaces().find(e => e.id === eniId)
  const allowed = new Set<string>()
  for (const group of snapshot.filter(g => eni?.groupIds.includes(g.groupId))) {
    for (const rule of group.ingress) {
      if (rule.protocol === 'tcp' && rule.fromPort === 443 && rule.cidrIpv4) {
        allowed.add(rule.cidrIpv4)
      }
    }
  }
  return allowed
}

const A = '13.32.0.0/15'
const B = '52.84.0.0/15'
const C = '54.182.0.0/16'
const D = '54.192.0.0/16'
const X = '99.86.0.0/16'

test('a full pool on an instance grows: create, attach, authorize, revoke; never a gap', async () => {
  const g1 = pooled('cf-1', [A, B, X])
  const eni = emulator.addNetworkInterface({
    region: REGION,
    vpcId: VPC,
    groupIds: [g1, other('app')],
    instanceId: emulator.newInstanceId()
  })
  const gaps: string[] = []
  emulator.onStateChange = (snapshot, call) => {
    const allowed = allowedOn(eni, snapshot)
    for (const cidr of [A, B]) if (!allowed.has(cidr)) gaps.push(`${call?.action}: ${cidr}`)
  }

  const run = await growAndSync(wanted([A, B, C, D]))

  expect(run.refusals).toEqual([])
  expect(run.created).toHaveLength(1)
  const created = run.created?.[0]?.groupId as string
  expect(mutations()).toEqual([
    'CreateSecurityGroup',
    'ModifyNetworkInterfaceAttribute',
    'CreateTags',
    'AuthorizeSecurityGroupIngress',
    'RevokeSecurityGroupIngress'
  ])
  expect(gaps).toEqual([])
  const interfaces = emulator.listNetworkInterfaces()
  expect(interfaces.find(e => e.id === eni)?.groupIds).toContain(created)
  expect([...allowedOn(eni, emulator.listGroups())].sort()).toEqual([A, B, C, D].sort())
  const group = emulator.listGroups().find(g => g.groupId === created)
  expect(group?.tags).toMatchObject({
    Name: 'cloudfront_g',
    AutoUpdate: 'true',
    Protocol: 'https',
    [CREATED_BY_TAG]: 'grow-pools'
  })
  expect(group?.name).toBe('cloudfront-sg-sync-global-443-2')
  expect(group?.description).toMatch(/^[a-zA-Z0-9 ._\-:/()#,@[\]+=&;{}!$*]+$/)

  // The rerun: the new group is a pool member like any other, nothing left to do.
  const before = emulator.calls.length
  const rerun = await growAndSync(wanted([A, B, C, D]))
  expect(rerun.created).toEqual([])
  expect(emulator.calls.slice(before).filter(call => call.mutating)).toEqual([])
})

test('refused before any change where an interface has no free group slot', async () => {
  const g1 = pooled('cf-1', [A, B, X])
  emulator.addNetworkInterface({
    region: REGION,
    vpcId: VPC,
    groupIds: [g1, other('o1'), other('o2'), other('o3'), other('o4')],
    instanceId: emulator.newInstanceId()
  })
  const run = await growAndSync(wanted([A, B, C, D]))
  expect(run.refusals.join(' ')).toMatch(/carries 5 security group\(s\).*allows 5 per interface/)
  expect(mutations()).toEqual([])
})

test('refused before any change where the pool is partial on an interface', async () => {
  const g1 = pooled('cf-1', [A, B, X])
  const g2 = pooled('cf-2', [C])
  const whole = emulator.addNetworkInterface({
    region: REGION,
    vpcId: VPC,
    groupIds: [g1, g2],
    instanceId: emulator.newInstanceId()
  })
  const half = emulator.addNetworkInterface({
    region: REGION,
    vpcId: VPC,
    groupIds: [g1],
    instanceId: emulator.newInstanceId()
  })
  // 7 ranges, 6 slots: the pool must grow.
  const run = await growAndSync(
    wanted([A, B, C, D, '54.230.0.0/16', '64.252.64.0/18', '18.64.0.0/14'])
  )
  expect(run.refusals.join(' ')).toContain(`${half} (instance`)
  expect(run.refusals.join(' ')).toContain(`missing ${g2}`)
  expect(run.refusals.join(' ')).not.toContain(whole)
  expect(mutations()).toEqual([])
})

test('a full pool on a load balancer grows: SetSecurityGroups keeps its groups, before any rule', async () => {
  const g1 = pooled('cf-1', [A, B, X])
  const app = other('alb-base')
  const arn = elbv2.addLoadBalancer({
    region: REGION,
    vpcId: VPC,
    name: 'shop',
    groupIds: [app, g1]
  })
  const enis = emulator.listNetworkInterfaces().map(e => e.id)
  const gaps: string[] = []
  emulator.onStateChange = (snapshot, call) => {
    for (const eni of enis) {
      const allowed = allowedOn(eni, snapshot)
      for (const cidr of [A, B]) if (!allowed.has(cidr)) gaps.push(`${call?.action}: ${cidr}`)
    }
  }
  const lbCallsBefore = elbv2.calls.length
  const run = await growAndSync(wanted([A, B, C, D]))
  expect(run.refusals).toEqual([])
  const created = run.created?.[0]?.groupId as string
  expect(elbv2.calls.slice(lbCallsBefore).map(c => c.action)).toEqual([
    'DescribeLoadBalancers',
    'SetSecurityGroups'
  ])
  expect(elbv2.groupsOf(arn)).toEqual([app, g1, created])
  // SetSecurityGroups happened after the create and before the first rule went in.
  const set = elbv2.calls.find(c => c.action === 'SetSecurityGroups')
  expect(set?.params).toMatchObject({
    'SecurityGroups.member.1': app,
    'SecurityGroups.member.2': g1,
    'SecurityGroups.member.3': created
  })
  expect(mutations()).toEqual([
    'CreateSecurityGroup',
    'CreateTags',
    'AuthorizeSecurityGroupIngress',
    'RevokeSecurityGroupIngress'
  ])
  const authorizeAt = emulator.calls.find(c => c.action === 'AuthorizeSecurityGroupIngress')
  expect(authorizeAt?.params.GroupId).toBe(created)
  expect(gaps).toEqual([])
  for (const eni of enis) {
    expect([...allowedOn(eni, emulator.listGroups())].sort()).toEqual([A, B, C, D].sort())
  }
})

test('refused before any change where a load balancer already has 5 groups', async () => {
  const g1 = pooled('cf-1', [A, B, X])
  elbv2.addLoadBalancer({
    region: REGION,
    vpcId: VPC,
    name: 'full',
    groupIds: [g1, other('o1'), other('o2'), other('o3'), other('o4')]
  })
  const run = await growAndSync(wanted([A, B, C, D]))
  expect(run.refusals.join(' ')).toMatch(/application load balancer full\) has 5 .* at most 5/)
  expect(mutations()).toEqual([])
  expect(elbv2.calls.filter(c => c.action === 'SetSecurityGroups')).toEqual([])
})

test("refused before any change where a gateway load balancer's interface carries the pool", async () => {
  const g1 = pooled('cf-1', [A, B, X])
  emulator.addNetworkInterface({
    region: REGION,
    vpcId: VPC,
    groupIds: [g1],
    description: 'ELB gwy/inspect/50dc6c495c0c9188',
    interfaceType: 'gateway_load_balancer',
    requesterId: 'amazon-elb'
  })
  const run = await growAndSync(wanted([A, B, C, D]))
  expect(run.refusals.join(' ')).toMatch(/gateway load balancer inspect/)
  expect(mutations()).toEqual([])
})

test('refused where nothing carries the pool', async () => {
  pooled('cf-1', [A, B, X])
  const run = await growAndSync(wanted([A, B, C, D]))
  expect(run.refusals.join(' ')).toMatch(/no network interface carries it/)
  expect(mutations()).toEqual([])
})

test('a created group a stopped run left unattached is attached before any rule goes in', async () => {
  const g1 = pooled('cf-1', [A, B, X])
  // What a run killed between CreateSecurityGroup and ModifyNetworkInterfaceAttribute leaves.
  const orphan = pooled('cloudfront-sg-sync-global-443-2', [], { [CREATED_BY_TAG]: 'grow-pools' })
  const eni = emulator.addNetworkInterface({
    region: REGION,
    vpcId: VPC,
    groupIds: [g1],
    instanceId: emulator.newInstanceId()
  })
  const run = await growAndSync(wanted([A, B, C, D]))
  expect(run.refusals).toEqual([])
  expect(run.created).toEqual([])
  expect(mutations()).toEqual([
    'ModifyNetworkInterfaceAttribute',
    'CreateTags',
    'AuthorizeSecurityGroupIngress',
    'RevokeSecurityGroupIngress'
  ])
  expect(emulator.listNetworkInterfaces().find(e => e.id === eni)?.groupIds).toEqual([g1, orphan])
  expect([...allowedOn(eni, emulator.listGroups())].sort()).toEqual([A, B, C, D].sort())
})

test('a grown group left empty is reported removable, and never deleted', async () => {
  const g1 = pooled('cf-1', [A, B])
  const grown = pooled('cloudfront-sg-sync-global-443-2', [C], { [CREATED_BY_TAG]: 'grow-pools' })
  emulator.addNetworkInterface({
    region: REGION,
    vpcId: VPC,
    groupIds: [g1, grown],
    instanceId: emulator.newInstanceId()
  })
  const run = await growAndSync(wanted([A, B]))
  const after = new Map(
    run.plan.pools.flatMap(pool => pool.groups.map(g => [g.groupId, g.after.ipv4] as const))
  )
  expect(removableGroups(run.groups, after)).toEqual([grown])
  expect(mutations()).not.toContain('DeleteSecurityGroup')
  expect(emulator.listGroups().some(g => g.groupId === grown)).toBe(true)
})
