import type { ManagedGroup } from '../../src/inventory.js'
import type { PlanOptions } from '../../src/plan.js'
import { buildPlan } from '../../src/plan.js'
import type { CidrsByScope, IpFamily, Scope } from '../../src/types.js'

interface GroupSpec {
  id: string
  vpc?: string
  scope?: Scope
  port?: number
  region?: string
  v4?: string[]
  v6?: string[]
  foreign4?: number
  foreign6?: number
  foreignOnPort4?: string[]
  syncToken?: string
  ruleLimit?: number
}

function group(spec: GroupSpec): ManagedGroup {
  const rules = (cidrs: string[] = []) => cidrs.map(cidr => ({ cidr, raw: cidr }))
  return {
    account: '111111111111',
    region: spec.region ?? 'us-east-1',
    groupId: spec.id,
    groupName: spec.id,
    vpcId: spec.vpc ?? 'vpc-1',
    nameTag: spec.scope === 'regional' ? 'cloudfront_r' : 'cloudfront_g',
    scope: spec.scope ?? 'global',
    protocol: 'https',
    port: spec.port ?? 443,
    managed: { ipv4: rules(spec.v4), ipv6: rules(spec.v6) },
    ruleLimit: spec.ruleLimit ?? 60,
    foreignWeight: { ipv4: spec.foreign4 ?? 0, ipv6: spec.foreign6 ?? 0 },
    foreignOnPort: { ipv4: spec.foreignOnPort4 ?? [], ipv6: [] },
    ...(spec.syncToken ? { syncToken: spec.syncToken } : {})
  }
}

function desired(
  global4: string[],
  extra: Partial<{ global6: string[]; regional4: string[] }> = {}
) {
  const value: CidrsByScope = {
    global: { ipv4: global4, ipv6: extra.global6 ?? [] },
    regional: { ipv4: extra.regional4 ?? [], ipv6: [] }
  }
  return value
}

const net = (n: number) => `10.${Math.floor(n / 256)}.${n % 256}.0/24`
const nets = (from: number, count: number) => Array.from({ length: count }, (_, i) => net(from + i))
const options = (overrides: Partial<PlanOptions> = {}): PlanOptions => ({
  families: ['ipv4'],
  maxRemovalsPercent: 100,
  ...overrides
})

function changesOf(plan: ReturnType<typeof buildPlan>, family: IpFamily = 'ipv4') {
  return Object.fromEntries(
    plan.pools.flatMap(pool =>
      pool.groups.map(g => [
        g.groupId,
        { add: g.add[family], remove: g.remove[family].map(r => r.cidr), first: g.revokeFirst }
      ])
    )
  )
}

describe('buildPlan placement', () => {
  test('first sync puts every range into an empty group', () => {
    const plan = buildPlan(desired(nets(0, 5)), [group({ id: 'sg-a' })], options())
    expect(changesOf(plan)['sg-a']?.add).toEqual(nets(0, 5))
    expect(plan.totals).toMatchObject({ rulesAdded: 5, rulesRemoved: 0, groupsChanged: 1 })
    expect(plan.problems).toEqual([])
  })

  test('spreads a pool over its groups within capacity, most room first', () => {
    const plan = buildPlan(
      desired(nets(0, 5)),
      [group({ id: 'sg-b', ruleLimit: 3 }), group({ id: 'sg-a', ruleLimit: 3 })],
      options()
    )
    const changes = changesOf(plan)
    expect(changes['sg-a']?.add).toHaveLength(3)
    expect(changes['sg-b']?.add).toHaveLength(2)
    expect([...(changes['sg-a']?.add ?? []), ...(changes['sg-b']?.add ?? [])].sort()).toEqual(
      nets(0, 5).sort()
    )
    expect(plan.pools[0]?.groups.map(g => g.capacityLeft.ipv4)).toEqual([0, 1])
  })

  test('nothing to do when the groups already hold exactly the ranges', () => {
    const plan = buildPlan(
      desired(nets(0, 4)),
      [group({ id: 'sg-a', v4: nets(0, 2) }), group({ id: 'sg-b', v4: nets(2, 2) })],
      options()
    )
    expect(plan.totals).toMatchObject({ rulesAdded: 0, rulesRemoved: 0, groupsChanged: 0 })
  })

  test('one range replaced: one add, one revoke, nothing else moves', () => {
    const before = [
      group({ id: 'sg-a', v4: nets(0, 3), ruleLimit: 3 }),
      group({ id: 'sg-b', v4: nets(3, 2), ruleLimit: 3 })
    ]
    const wanted = [...nets(0, 2), ...nets(3, 2), net(100)]
    const plan = buildPlan(desired(wanted), before, options())
    const changes = changesOf(plan)
    expect(changes['sg-a']).toEqual({ add: [], remove: [net(2)], first: false })
    expect(changes['sg-b']).toEqual({ add: [net(100)], remove: [], first: false })
    expect(plan.totals).toMatchObject({ rulesAdded: 1, rulesRemoved: 1, groupsChanged: 2 })
  })

  test('a full pool revokes an obsolete rule first when no wanted address depends on it', () => {
    const before = [group({ id: 'sg-a', v4: nets(0, 3), ruleLimit: 3 })]
    const plan = buildPlan(desired([...nets(0, 2), net(50)]), before, options())
    expect(changesOf(plan)['sg-a']).toEqual({ add: [net(50)], remove: [net(2)], first: true })
    expect(plan.problems).toEqual([])
  })

  test('a full pool never revokes first what a new covering range replaces', () => {
    // 10.0.0.0/24 + 10.0.1.0/24 merged into 10.0.0.0/23: revoking first would open a gap.
    const before = [group({ id: 'sg-a', v4: ['10.0.0.0/24', '10.0.1.0/24'], ruleLimit: 2 })]
    const plan = buildPlan(desired(['10.0.0.0/23']), before, options())
    expect(plan.problems.map(p => p.kind)).toEqual(['capacity'])
    expect(plan.problems[0]?.message).toContain('needs 1 free rule slot(s) while it changes')
    expect(plan.problems[0]?.message).toContain(
      'so no address is ever uncovered), and its 1 group(s) have no room for them (2 rules per ' +
        'group, 0 used by rules this action does not own). Fix: '
    )
    expect(plan.problems[0]?.message).toContain('to at least 3 ')
    expect(changesOf(plan)['sg-a']?.first).toBe(false)
  })

  test('a CIDR moving between groups is added before its old rules go (same pool)', () => {
    const before = [
      group({ id: 'sg-a', v4: ['10.0.0.0/24', net(10)], ruleLimit: 2 }),
      group({ id: 'sg-b', v4: ['10.0.1.0/24'], ruleLimit: 2 })
    ]
    const plan = buildPlan(desired(['10.0.0.0/23', net(10)]), before, options())
    const changes = changesOf(plan)
    expect(changes['sg-b']).toEqual({ add: ['10.0.0.0/23'], remove: ['10.0.1.0/24'], first: false })
    expect(changes['sg-a']).toEqual({ add: [], remove: ['10.0.0.0/24'], first: false })
    // Replaced by a covering range: not a withdrawal.
    expect(plan.totals.removalsUncovered).toBe(0)
  })

  test('rules the action does not own use capacity', () => {
    const plan = buildPlan(
      desired(nets(0, 3)),
      [group({ id: 'sg-a', foreign4: 58 }), group({ id: 'sg-b', foreign4: 59 })],
      options()
    )
    const changes = changesOf(plan)
    expect(changes['sg-a']?.add).toHaveLength(2)
    expect(changes['sg-b']?.add).toHaveLength(1)
  })

  test('a wanted CIDR already allowed by a foreign rule on the port is not added again', () => {
    const plan = buildPlan(
      desired(nets(0, 2)),
      [group({ id: 'sg-a', foreign4: 1, foreignOnPort4: [net(0)] })],
      options()
    )
    expect(changesOf(plan)['sg-a']?.add).toEqual([net(1)])
  })

  test('a CIDR held by two groups of one pool keeps the first and drops the copy', () => {
    const plan = buildPlan(
      desired(nets(0, 2)),
      [group({ id: 'sg-a', v4: nets(0, 2) }), group({ id: 'sg-b', v4: [net(1)] })],
      options({ maxRemovalsPercent: 0 })
    )
    expect(changesOf(plan)['sg-b']?.remove).toEqual([net(1)])
    expect(plan.problems).toEqual([])
  })

  test('pools split by region, VPC, scope and port; each pool gets its scope set', () => {
    const plan = buildPlan(
      desired(nets(0, 2), { regional4: nets(10, 1) }),
      [
        group({ id: 'sg-1' }),
        group({ id: 'sg-2', vpc: 'vpc-2' }),
        group({ id: 'sg-3', port: 80 }),
        group({ id: 'sg-4', scope: 'regional' }),
        group({ id: 'sg-5', region: 'eu-west-1' })
      ],
      options()
    )
    expect(plan.pools.map(p => p.id)).toEqual([
      '111111111111/eu-west-1/vpc-1/global/tcp:443',
      '111111111111/us-east-1/vpc-1/global/tcp:443',
      '111111111111/us-east-1/vpc-1/global/tcp:80',
      '111111111111/us-east-1/vpc-1/regional/tcp:443',
      '111111111111/us-east-1/vpc-2/global/tcp:443'
    ])
    const changes = changesOf(plan)
    for (const id of ['sg-1', 'sg-2', 'sg-3', 'sg-5']) expect(changes[id]?.add).toEqual(nets(0, 2))
    expect(changes['sg-4']?.add).toEqual(nets(10, 1))
  })
})

describe('buildPlan families', () => {
  const v6 = ['2600:9000::/28', '2600:9000:1000::/36']

  test('IPv4 and IPv6 have separate capacity and one group holds both', () => {
    const plan = buildPlan(
      desired(nets(0, 2), { global6: v6 }),
      [group({ id: 'sg-a', foreign4: 58 })],
      options({ families: ['ipv4', 'ipv6'] })
    )
    expect(changesOf(plan, 'ipv4')['sg-a']?.add).toEqual(nets(0, 2))
    expect(changesOf(plan, 'ipv6')['sg-a']?.add).toEqual(v6)
    expect(plan.problems).toEqual([])
  })

  test('a family not selected is left alone', () => {
    const plan = buildPlan(
      desired(nets(0, 1), { global6: [] }),
      [group({ id: 'sg-a', v4: nets(0, 1), v6: ['2600:9000::/28'] })],
      options({ families: ['ipv4'], maxRemovalsPercent: 0 })
    )
    expect(plan.totals).toMatchObject({ rulesAdded: 0, rulesRemoved: 0 })
  })
})

describe('buildPlan guards', () => {
  test('shortfall names the pool, the missing slots, groups to add and the quota to ask for', () => {
    const plan = buildPlan(
      desired(nets(0, 130)),
      [group({ id: 'sg-a', foreign4: 2 }), group({ id: 'sg-b' })],
      options()
    )
    expect(plan.problems).toHaveLength(1)
    const message = plan.problems[0]?.message ?? ''
    expect(message).toContain('111111111111/us-east-1/vpc-1/global/tcp:443')
    // One sentence that reads (issue 13 #3: it once ended "...its 2 group(s) have no room").
    expect(message).toContain(
      'cannot hold its ipv4 ranges: it has 12 more rule(s) than fit in its 2 group(s) ' +
        '(60 rules per group, 2 used by rules this action does not own). Fix: '
    )
    expect(message).toContain('tag 1 more security group(s) in vpc-1')
    expect(message).toContain('L-0EA8095F')
    expect(message).toContain('at least 66')
  })

  test("a group's own rule limit (the account's quota) sets its capacity", () => {
    const plan = buildPlan(
      desired(nets(0, 130)),
      [group({ id: 'sg-a', ruleLimit: 200 })],
      options()
    )
    expect(plan.problems).toEqual([])
    expect(plan.pools[0]?.groups[0]?.capacityLeft.ipv4).toBe(70)
  })

  test.each([
    { managed: 10, removed: 2, percent: 25, refused: false },
    { managed: 10, removed: 3, percent: 25, refused: true },
    { managed: 10, removed: 10, percent: 100, refused: false },
    { managed: 4, removed: 1, percent: 0, refused: true }
  ])('removing $removed of $managed rules with max $percent% refused=$refused', c => {
    const plan = buildPlan(
      desired(nets(0, c.managed - c.removed)),
      [group({ id: 'sg-a', v4: nets(0, c.managed) })],
      options({ maxRemovalsPercent: c.percent })
    )
    expect(plan.problems.some(p => p.kind === 'removals')).toBe(c.refused)
    if (c.refused) expect(plan.problems[0]?.message).toContain('max-removals-percent')
  })

  test('an empty group set has nothing to guard', () => {
    const plan = buildPlan(desired(nets(0, 1)), [], options({ maxRemovalsPercent: 0 }))
    expect(plan).toMatchObject({ pools: [], problems: [] })
  })
})

describe('buildPlan never goes backwards', () => {
  test.each([
    { recorded: '1785000100', current: '1785000000', heldBack: true },
    { recorded: '1785000000', current: '1785000000', heldBack: false },
    { recorded: '999', current: '1785000000', heldBack: false },
    { recorded: undefined, current: '1785000000', heldBack: false }
  ])('recorded $recorded, file $current: held back = $heldBack', c => {
    const plan = buildPlan(
      desired(nets(0, 2)),
      [
        group({ id: 'sg-a', v4: [net(7)], ...(c.recorded ? { syncToken: c.recorded } : {}) }),
        group({ id: 'sg-b' }),
        group({ id: 'sg-c', vpc: 'vpc-2' })
      ],
      options({ syncToken: c.current })
    )
    // The whole pool of the group holding newer ranges is left alone; other pools proceed.
    expect(plan.heldBack).toEqual(
      c.heldBack
        ? [
            {
              id: '111111111111/us-east-1/vpc-1/global/tcp:443',
              groupId: 'sg-a',
              recordedSyncToken: c.recorded
            }
          ]
        : []
    )
    expect(plan.pools.map(p => p.id)).toEqual(
      c.heldBack
        ? ['111111111111/us-east-1/vpc-2/global/tcp:443']
        : [
            '111111111111/us-east-1/vpc-1/global/tcp:443',
            '111111111111/us-east-1/vpc-2/global/tcp:443'
          ]
    )
    expect(plan.totals.rulesRemoved).toBe(c.heldBack ? 0 : 1)
  })
})
