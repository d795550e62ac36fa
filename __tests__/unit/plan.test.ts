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

describe('buildPlan bounds on what it applies (issue 15)', () => {
  const POOL = '111111111111/us-east-1/vpc-1/global/tcp:443'
  const kinds = (plan: ReturnType<typeof buildPlan>) => plan.problems.map(p => p.kind).sort()

  test('43 rules replaced by 0.0.0.0/0 (256 /8s merged): refused as too broad, and 43 withdrawals', () => {
    const plan = buildPlan(
      desired(['0.0.0.0/0']),
      [group({ id: 'sg-a', v4: nets(0, 43) })],
      options({ maxRemovalsPercent: 25 })
    )
    expect(plan.totals).toMatchObject({ rulesAdded: 1, rulesRemoved: 43, removalsUncovered: 43 })
    expect(kinds(plan)).toEqual(['bounds', 'growth', 'removals'])
    const messages = plan.problems.map(p => p.message).join('\n')
    expect(messages).toContain('include 0.0.0.0/0, broader than /8')
    expect(messages).toContain('withdraws 43 of 43 managed rules (100.0%)')
  })

  test('revokes "covered" by a broader new range are not free in the removal guard', () => {
    const plan = buildPlan(
      desired(['10.0.0.0/16']),
      [group({ id: 'sg-a', v4: nets(0, 10) })],
      options({ maxRemovalsPercent: 25, maxGrowthPercent: 1_000_000 })
    )
    expect(plan.totals.removalsUncovered).toBe(10)
    expect(kinds(plan)).toEqual(['removals'])
  })

  test('revokes replaced by an exact merge (or a duplicate) stay free', () => {
    const plan = buildPlan(
      desired(['10.0.0.0/23', '10.0.2.0/24']),
      [
        group({ id: 'sg-a', v4: ['10.0.0.0/24', '10.0.1.0/24'] }),
        group({ id: 'sg-b', v4: nets(2, 1) })
      ],
      options({ maxRemovalsPercent: 0 })
    )
    expect(plan.totals).toMatchObject({ rulesRemoved: 2, removalsUncovered: 0 })
    expect(plan.problems).toEqual([])
  })

  // n /16s (each 65,536 addresses): four of them are exactly GROWTH_FLOOR.ipv4.
  const sixteens = (count: number) => Array.from({ length: count }, (_, i) => `${20 + i}.0.0.0/16`)

  test.each([
    { today: 4, after: 8, percent: undefined, refused: false },
    { today: 4, after: 9, percent: undefined, refused: true },
    { today: 4, after: 9, percent: 125, refused: false },
    { today: 4, after: 4, percent: 0, refused: false },
    { today: 4, after: 5, percent: 0, refused: true },
    { today: 1, after: 4, percent: 0, refused: false }
  ])('growth from $today to $after /16s with max-growth-percent $percent: refused=$refused', c => {
    const plan = buildPlan(
      desired(sixteens(c.after)),
      [group({ id: 'sg-a', v4: sixteens(c.today) })],
      options(c.percent === undefined ? {} : { maxGrowthPercent: c.percent })
    )
    expect(plan.problems.some(p => p.kind === 'growth')).toBe(c.refused)
  })

  test('a set far beyond what the pool holds is refused with the figures and the override', () => {
    // A forged document: the genuine four /16s plus a /12 beside them, within every absolute bound.
    const plan = buildPlan(
      desired([...sixteens(4), '48.0.0.0/12']),
      [group({ id: 'sg-a', v4: sixteens(4) })],
      options()
    )
    expect(plan.problems).toEqual([
      {
        kind: 'growth',
        message:
          `Pool ${POOL} would allow 1,310,720 IPv4 addresses where its managed rules allow ` +
          '262,144 today (5.0 times as many), more than max-growth-percent (100%) allows. If this ' +
          'is expected (for example after switching service to CLOUDFRONT), rerun with ' +
          'max-growth-percent: 400 for this one run; otherwise check the ip-ranges source.'
      }
    ])
    const overridden = buildPlan(
      desired([...sixteens(4), '48.0.0.0/12']),
      [group({ id: 'sg-a', v4: sixteens(4) })],
      options({ maxGrowthPercent: 400 })
    )
    expect(overridden.problems).toEqual([])
  })

  test('a rerun of the same document (a pool tagged with its syncToken) is not refused as growth', () => {
    // An interrupted first sync left one group of two filled; the rerun completes it.
    const groups = [
      group({ id: 'sg-a', v4: sixteens(2), syncToken: '1785000000' }),
      group({ id: 'sg-b' })
    ]
    const wanted = desired(sixteens(10))
    expect(buildPlan(wanted, groups, options({ syncToken: '1785000000' })).problems).toEqual([])
    expect(
      buildPlan(wanted, groups, options({ syncToken: '1785000300' })).problems.map(p => p.kind)
    ).toEqual(['growth'])
  })

  test('real steps in small pools grow freely up to the floor (IPv4 /14, IPv6 /32)', () => {
    // The origin-facing regional pool (a /24 and a /26) gains a /22: 4.2 times its addresses.
    const regional = buildPlan(
      desired([], { regional4: ['10.0.0.0/24', '10.0.1.0/26', '10.0.4.0/22'] }),
      [group({ id: 'sg-r', scope: 'regional', v4: ['10.0.0.0/24', '10.0.1.0/26'] })],
      options()
    )
    expect(regional.problems).toEqual([])
    // The origin-facing IPv6 /40 gains two /36s: 33 times its addresses, still under a /32.
    const v6 = buildPlan(
      desired([], {
        global6: ['2600:9000:2000::/36', '2600:9000:3000::/36', '2600:9000:f000::/40']
      }),
      [group({ id: 'sg-6', v6: ['2600:9000:f000::/40'] })],
      options({ families: ['ipv6'] })
    )
    expect(v6.problems).toEqual([])
    // A /28 beside it is far past both the floor and the allowed growth.
    const forged = buildPlan(
      desired([], { global6: ['2600:9000:f000::/40', '2a00:1000::/28'] }),
      [group({ id: 'sg-6', v6: ['2600:9000:f000::/40'] })],
      options({ families: ['ipv6'] })
    )
    expect(forged.problems.map(p => p.kind)).toEqual(['growth'])
  })

  test('a first sync into empty groups is bounded only by the absolute limits', () => {
    const plan = buildPlan(desired(['10.0.0.0/9']), [group({ id: 'sg-a' })], options())
    expect(plan.problems).toEqual([])
    const tooBig = buildPlan(
      desired(['10.0.0.0/8', '12.0.0.0/8']),
      [group({ id: 'sg-a' })],
      options()
    )
    expect(tooBig.problems.map(p => p.message)).toEqual([
      'The global IPv4 ranges cover 33,554,432 addresses, more than the 16,777,216 allowed. ' +
        'Check the ip-ranges source.'
    ])
  })

  test('1,000 revokes against 5,000 unmergeable wanted CIDRs plan fast (50 s before the sweep)', () => {
    // Every other /24: nothing merges, so the covering set has 5,000 blocks to search.
    const wanted = Array.from(
      { length: 5000 },
      (_, i) => `172.${16 + (i >> 7)}.${(i & 127) * 2}.0/24`
    )
    const groups = Array.from({ length: 10 }, (_, g) =>
      group({
        id: `sg-${g}`,
        ruleLimit: 1000,
        v4: Array.from({ length: 100 }, (_, i) => `10.${g}.${i}.0/24`)
      })
    )
    const started = performance.now()
    const plan = buildPlan(desired(wanted), groups, options({ maxGrowthPercent: 1e6 }))
    expect(performance.now() - started).toBeLessThan(3000)
    expect(plan.totals).toMatchObject({
      rulesAdded: 5000,
      rulesRemoved: 1000,
      removalsUncovered: 1000
    })
  })
})

describe('buildPlan with a family the document does not publish (issue 15)', () => {
  test('no managed rule of it anywhere: nothing to do for it, a notice, the other family synced', () => {
    const plan = buildPlan(
      desired(nets(0, 2)),
      [group({ id: 'sg-a' })],
      options({ families: ['ipv4', 'ipv6'], unpublished: ['ipv6'] })
    )
    expect(plan.problems).toEqual([])
    expect(plan.totals.rulesAdded).toBe(2)
    expect(plan.notices).toEqual([
      'The ranges list no IPv6 prefix for this service and no group holds a managed IPv6 rule: ' +
        'nothing to do for IPv6; the other families were synced.'
    ])
  })

  test('managed rules of it would all vanish: refused, naming the groups and the fix', () => {
    const plan = buildPlan(
      desired(nets(0, 2)),
      [group({ id: 'sg-a' }), group({ id: 'sg-b', v6: ['2600:9000:1000::/36'] })],
      options({ families: ['ipv4', 'ipv6'], unpublished: ['ipv6'] })
    )
    expect(plan.problems).toEqual([
      {
        kind: 'unpublished',
        message:
          'The ranges list no IPv6 prefix for this service, but 1 group(s) (sg-b) hold 1 managed ' +
          'IPv6 rule(s), which would all be revoked. If IPv6 was dropped on purpose, remove ipv6 ' +
          "from input 'ip-families' (and delete those rules by hand if they must go); otherwise " +
          'retry later: this may be a transient publication error.'
      }
    ])
  })
})
