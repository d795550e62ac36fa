// The main scenarios of a run as RunReports, for the rendered-summary tests
// (__tests__/unit/summary-ui.test.ts) and the README's examples (dev/render-examples.ts).
// Pure data: no I/O, fixed values, so the rendered text is deterministic.
import type { ApplyResult } from '../src/apply.js'
import type { GroupChange, Plan, Pool } from '../src/plan.js'
import type { RunReport, RunStatus } from '../src/report/summary.js'
import type { IpFamily } from '../src/types.js'

const ACCOUNT = '123456789012'
const REGION = 'us-east-1'
const VPC = 'vpc-0a1b2c3d4e5f60718'

const cidrs = (count: number, third: number): string[] =>
  Array.from({ length: count }, (_, i) => `10.${third}.${i}.0/24`)

interface GroupSpec {
  id: string
  name: string
  scope: 'global' | 'regional'
  before: number
  add: string[]
  remove: string[]
  /** IPv6 rules held before (global groups hold CloudFront's IPv6 range). */
  before6?: number
  add6?: string[]
}

function group(spec: GroupSpec): GroupChange {
  const after = spec.before + spec.add.length - spec.remove.length
  const after6 = (spec.before6 ?? 0) + (spec.add6?.length ?? 0)
  return {
    account: ACCOUNT,
    region: REGION,
    groupId: spec.id,
    groupName: spec.name,
    vpcId: VPC,
    scope: spec.scope,
    port: 443,
    add: { ipv4: spec.add, ipv6: spec.add6 ?? [] },
    remove: { ipv4: spec.remove.map(cidr => ({ cidr, raw: cidr })), ipv6: [] },
    before: { ipv4: spec.before, ipv6: spec.before6 ?? 0 },
    after: { ipv4: after, ipv6: after6 },
    capacityLeft: { ipv4: 60 - after, ipv6: 60 - after6 },
    revokeFirst: false
  }
}

function pool(scope: 'global' | 'regional', groups: GroupChange[], v6: number): Pool {
  return {
    id: `${ACCOUNT}/${REGION}/${VPC}/${scope}/tcp:443`,
    account: ACCOUNT,
    region: REGION,
    vpcId: VPC,
    scope,
    port: 443,
    // The global scope publishes IPv6 too; the regional scope (origin-facing) does not.
    desired: { ipv4: cidrs(1, 0), ipv6: v6 > 0 ? ['2600:9000::/28'] : [] },
    groups
  }
}

function plan(pools: Pool[], problems: Plan['problems'] = []): Plan {
  const groups = pools.flatMap(p => p.groups)
  const changed = groups.filter(
    g => g.add.ipv4.length + g.add.ipv6.length + g.remove.ipv4.length > 0
  )
  return {
    pools,
    problems,
    heldBack: [],
    totals: {
      rulesAdded: groups.reduce((n, g) => n + g.add.ipv4.length + g.add.ipv6.length, 0),
      rulesRemoved: groups.reduce((n, g) => n + g.remove.ipv4.length, 0),
      groupsChanged: changed.length,
      managedBefore: groups.reduce((n, g) => n + g.before.ipv4 + g.before.ipv6, 0),
      removalsUncovered: 0
    }
  }
}

function applied(p: Plan, failed: string[] = []): ApplyResult {
  const outcomes = p.pools
    .flatMap(x => x.groups)
    .filter(g => g.add.ipv4.length + g.add.ipv6.length + g.remove.ipv4.length > 0)
    .map(g => ({
      account: g.account,
      region: g.region,
      groupId: g.groupId,
      added: failed.includes(g.groupId) ? 0 : g.add.ipv4.length + g.add.ipv6.length,
      removed: failed.includes(g.groupId) ? 0 : g.remove.ipv4.length,
      ...(failed.includes(g.groupId)
        ? {
            error:
              'RulesPerSecurityGroupLimitExceeded: The maximum number of rules per security group has been reached.'
          }
        : {})
    }))
  return {
    outcomes,
    rulesAdded: outcomes.reduce((n, o) => n + o.added, 0),
    rulesRemoved: outcomes.reduce((n, o) => n + o.removed, 0),
    failures: outcomes.filter(o => o.error).map(o => `${o.groupId}: ${o.error ?? ''}`)
  }
}

function base(status: RunStatus, families: IpFamily[] = ['ipv4', 'ipv6']): RunReport {
  return {
    status,
    service: 'CLOUDFRONT_ORIGIN_FACING',
    families,
    regions: [REGION],
    accounts: [ACCOUNT],
    source: {
      url: 'https://ip-ranges.amazonaws.com/ip-ranges.json',
      syncToken: '1786615985',
      createDate: '2026-08-13-10-13-05',
      md5: '5f1b7c6a0d9e8f7a6b5c4d3e2f1a0b9c',
      bytes: 1_700_000
    },
    skipped: [],
    emptyRegions: [],
    notices: []
  }
}

const firstSyncPools = (): Pool[] => [
  pool(
    'global',
    [
      group({
        id: 'sg-0aa11bb22cc33dd44',
        name: 'edge-origin-g',
        scope: 'global',
        before: 0,
        add: cidrs(4, 1),
        remove: [],
        add6: ['2600:9000::/28']
      })
    ],
    1
  ),
  pool(
    'regional',
    [
      group({
        id: 'sg-0ee55ff66aa77bb88',
        name: 'edge-origin-r',
        scope: 'regional',
        before: 0,
        add: cidrs(2, 2),
        remove: []
      })
    ],
    0
  )
]

const steadyPools = (): Pool[] => [
  pool(
    'global',
    [
      group({
        id: 'sg-0aa11bb22cc33dd44',
        name: 'edge-origin-g',
        scope: 'global',
        before: 4,
        add: [],
        remove: [],
        before6: 1
      })
    ],
    1
  ),
  pool(
    'regional',
    [
      group({
        id: 'sg-0ee55ff66aa77bb88',
        name: 'edge-origin-r',
        scope: 'regional',
        before: 2,
        add: [],
        remove: []
      })
    ],
    0
  )
]

const changePools = (): Pool[] => [
  pool(
    'global',
    [
      group({
        id: 'sg-0aa11bb22cc33dd44',
        name: 'edge-origin-g',
        scope: 'global',
        before: 4,
        add: ['10.1.9.0/24'],
        remove: ['10.1.3.0/24'],
        before6: 1
      })
    ],
    1
  ),
  pool(
    'regional',
    [
      group({
        id: 'sg-0ee55ff66aa77bb88',
        name: 'edge-origin-r',
        scope: 'regional',
        before: 2,
        add: [],
        remove: []
      })
    ],
    0
  )
]

/** Every scenario the summary must render well, by name. */
export function scenarios(): Record<string, RunReport> {
  const first = plan(firstSyncPools())
  const steady = plan(steadyPools())
  const change = plan(changePools())
  const refused = plan(firstSyncPools(), [
    {
      kind: 'capacity',
      message:
        'us-east-1 global pool needs 62 rules per family but its 1 group holds at most 60: tag one more group Name=cloudfront_g in vpc-0a1b2c3d4e5f60718.'
    }
  ])
  const failedPlan = plan(firstSyncPools())
  const failedApply = applied(failedPlan, ['sg-0ee55ff66aa77bb88'])
  const held = plan(steadyPools())
  held.heldBack = [
    {
      id: `${ACCOUNT}/${REGION}/${VPC}/global/tcp:443`,
      groupId: 'sg-0aa11bb22cc33dd44',
      recordedSyncToken: '1786619999'
    }
  ]
  return {
    'first sync': { ...base('applied'), plan: first, applied: applied(first) },
    'no change': { ...base('no-change'), plan: steady },
    'a change': { ...base('applied'), plan: change, applied: applied(change) },
    refused: {
      ...base('refused'),
      plan: refused,
      error: `Nothing was changed: ${refused.problems.map(p => p.message).join(' ')}`
    },
    failed: {
      ...base('failed'),
      plan: failedPlan,
      applied: failedApply,
      error:
        `1 group(s) could not be fully updated (a rerun converges once the cause is fixed): ` +
        failedApply.failures.join('; ')
    },
    'dry run': { ...base('dry-run'), plan: change },
    'held back': { ...base('held-back'), plan: held },
    'check out of sync': {
      ...base('out-of-sync'),
      plan: change,
      check: {
        inSync: false,
        stalenessSeconds: 7200,
        documentSyncToken: '1786615985',
        maxStalenessSeconds: 86_400,
        pools: [
          {
            id: `${ACCOUNT}/${REGION}/${VPC}/global/tcp:443`,
            state: 'out-of-sync',
            rulesToAdd: 1,
            rulesToRemove: 1,
            lagSeconds: 7200
          }
        ],
        findings: [
          {
            condition: 'out-of-sync',
            message: '1 pool does not hold the published ranges (+1 / −1 rules): run the sync.'
          }
        ]
      }
    },
    'no change, exposure findings': {
      ...base('no-change'),
      plan: plan(steadyPools()),
      exposure: {
        findings: [
          {
            kind: 'wider-exposure',
            severity: 'high',
            account: ACCOUNT,
            region: REGION,
            pool: `${ACCOUNT}/${REGION}/${VPC}/global/tcp:443`,
            port: 443,
            interfaceId: 'eni-0abc',
            // A user-set interface description is untrusted: a pipe, a mention, a link.
            message:
              'eni-0abc (interface, "team | @octocat [x](https://evil.example)") answers more than CloudFront on tcp/443'
          }
        ],
        exposureCount: 1,
        audited: [`${ACCOUNT} ${REGION}`],
        warnings: []
      }
    },
    'no group (failed setup)': {
      ...base('failed'),
      emptyRegions: [REGION],
      skipped: [
        {
          account: ACCOUNT,
          region: REGION,
          groupId: 'sg-0cc99dd00ee11ff22',
          groupName: 'edge-origin',
          reason:
            "Protocol tag 'HTTPS' is not one of http, https (tag values match exactly: did you mean 'https'?)",
          closeTag: 'Protocol=HTTPS (expected https)'
        }
      ],
      error:
        'No security group to sync in 1 place(s) (us-east-1): none is tagged Name=cloudfront_g or Name=cloudfront_r with AutoUpdate=true and Protocol=http or https. Close (tag values match exactly): sg-0cc99dd00ee11ff22 is tagged Protocol=HTTPS (expected https). Tag the groups as the README Quick Start (step 2) shows and rerun; nothing was changed.'
    }
  }
}
