// Issue 15, "A lost answer can end in a false failure", against the bundled action: the answer to
// an authorize that fills a group exactly is lost after the rules were added. The SDK retries and
// meets the full group: InvalidPermission.Duplicate if EC2 checks duplicates first,
// RulesPerSecurityGroupLimitExceeded if it checks the quota first (undocumented, so both run). The
// run must end green with the revokes made, and a genuine lack of room must still fail clearly.
import type { AwsEmulators } from '../../dev/emulators/aws.js'
import { startAwsEmulators } from '../../dev/emulators/aws.js'
import type { AuthorizeCheckOrder, Ec2Intercept } from '../../dev/emulators/ec2.js'
import { serializeIpRanges } from '../../dev/ip-ranges-fixture.js'
import { RangesServer } from '../../dev/ranges-server.js'
import type { Lane, LaneRun, Runner } from './harness.js'
import {
  RULE_DESCRIPTION,
  baseDocument,
  changedDocument,
  findSecrets,
  groupsOf,
  laneAccountIds,
  laneMutations,
  lanes,
  published,
  runLane,
  writeFigures
} from './harness.js'
import type { PoolSpec } from './invariants.js'
import {
  InvariantMonitor,
  SYNC_TOKEN_TAG,
  StateHub,
  checkConverged,
  foreignRules
} from './invariants.js'

const base = baseDocument()
const changed = changedDocument(base)
const v4 = (cidrs: string[]) => cidrs.filter(cidr => !cidr.includes(':'))
const OLD = v4(published(base, 'global'))
const NEW = v4(published(changed, 'global'))
const FOREIGN = {
  protocol: 'tcp',
  fromPort: 22,
  toPort: 22,
  cidr: '10.0.0.0/8',
  description: 'ssh'
}
// One global tcp/443 group holding the old ranges and a foreign rule: adding the new ones before
// the old go fills it to the last slot.
const LIMIT = 1 + new Set([...OLD, ...NEW]).size
const INPUTS = {
  regions: 'us-east-1',
  'ip-families': 'ipv4',
  'max-rules-per-group': String(LIMIT)
}
const ORDERS: AuthorizeCheckOrder[] = ['duplicate-first', 'quota-first']
const ALL_LANES = lanes(8, 300)
let laneIndex = 0

let aws: AwsEmulators
let hub: StateHub
let url: string
const ranges = new RangesServer()
const runner = { captured: [], durations: [] } as unknown as Runner
const figures: Record<string, unknown> = {}

beforeAll(async () => {
  aws = await startAwsEmulators({ accountIds: laneAccountIds(ALL_LANES) })
  runner.aws = aws
  aws.ec2.rulesPerGroupLimit = LIMIT
  hub = new StateHub(aws.ec2)
  await ranges.start()
  url = ranges.route('/changed/ip-ranges.json', {
    kind: 'document',
    body: serializeIpRanges(changed)
  })
})

afterAll(async () => {
  await aws.stop()
  await ranges.stop()
  writeFigures('lost-answers', figures)
})

afterEach(() => {
  aws.ec2.onRequest = undefined
  aws.ec2.authorizeCheckOrder = 'duplicate-first'
})

interface Scenario {
  lane: Lane
  groupId: string
  pools: PoolSpec[]
  monitor: InvariantMonitor
  foreign: string[]
  stop: () => void
}

function scenario(): Scenario {
  const lane = ALL_LANES[laneIndex++] as Lane
  const groupId = aws.ec2.createGroup({
    account: lane.account,
    region: 'us-east-1',
    vpcId: 'vpc-1',
    name: 'edge',
    tags: {
      Name: 'cloudfront_g',
      AutoUpdate: 'true',
      Protocol: 'https',
      [SYNC_TOKEN_TAG]: base.syncToken
    },
    ingress: [
      FOREIGN,
      ...OLD.map(cidr => ({
        protocol: 'tcp',
        fromPort: 443,
        toPort: 443,
        cidr,
        description: RULE_DESCRIPTION
      }))
    ]
  })
  const pools = [
    {
      name: `${lane.account}/us-east-1/global/443`,
      groupIds: [groupId],
      port: 443,
      wanted: NEW,
      allowed: [...OLD, ...NEW]
    }
  ]
  const monitor = new InvariantMonitor(aws.ec2, { pools, account: lane.account })
  return {
    lane,
    groupId,
    pools,
    monitor,
    foreign: foreignRules(groupsOf(aws.ec2, lane.account), pools),
    stop: hub.add(monitor.listener)
  }
}

/** Answers the first `action` call of the lane with `intercept` (a hand edit may come with it). */
function onFirst(s: Scenario, action: string, intercept: () => Ec2Intercept | undefined): void {
  let done = false
  aws.ec2.onRequest = call => {
    if (done || call.account !== s.lane.account || call.action !== action) return undefined
    done = true
    return intercept()
  }
}

const run = (s: Scenario) => runLane(runner, s.lane, url, { inputs: INPUTS })

function problems(s: Scenario): string[] {
  const groups = groupsOf(aws.ec2, s.lane.account)
  const found = [...s.monitor.violations, ...checkConverged(groups, s.pools, { exact: true })]
  if (JSON.stringify(foreignRules(groups, s.pools)) !== JSON.stringify(s.foreign)) {
    found.push('foreign rules changed')
  }
  return found
}

const errorLines = (r: LaneRun) => r.stdout.split('\n').filter(line => line.startsWith('::error::'))

/** Mutating calls of the lane as `action errorCode`, from call index `from`. */
const mutations = (s: Scenario, from: number) =>
  laneMutations(aws.ec2, s.lane, from).map(c => `${c.action} ${c.errorCode ?? 'ok'}`)

async function idleRerun(s: Scenario): Promise<number> {
  const from = aws.ec2.calls.length
  const rerun = await run(s)
  expect(rerun.exitCode).toBe(0)
  return laneMutations(aws.ec2, s.lane, from).length
}

test('the scenario fills the group exactly: adds and revokes, nothing to spare', () => {
  const added = NEW.filter(cidr => !OLD.includes(cidr)).length
  const removed = OLD.filter(cidr => !NEW.includes(cidr)).length
  expect(added).toBeGreaterThan(0)
  expect(removed).toBeGreaterThan(0)
  expect(1 + OLD.length + added).toBe(LIMIT)
})

describe.each(ORDERS)('EC2 checks %s', order => {
  test('the answer to the authorize that fills the group is lost: exit 0, revokes made, exact, idle rerun', async () => {
    aws.ec2.authorizeCheckOrder = order
    const s = scenario()
    onFirst(s, 'AuthorizeSecurityGroupIngress', () => ({ kind: 'drop-after' }))
    const from = aws.ec2.calls.length
    const result = await run(s)
    const calls = mutations(s, from)
    const retryError =
      order === 'quota-first' ? 'RulesPerSecurityGroupLimitExceeded' : 'InvalidPermission.Duplicate'
    figures[`lostAuthorize ${order}`] = { exit: result.exitCode, calls }
    expect(errorLines(result)).toEqual([])
    expect(result.exitCode).toBe(0)
    expect(calls).toEqual([
      'CreateTags ok',
      'AuthorizeSecurityGroupIngress ConnectionDroppedAfterCommit',
      `AuthorizeSecurityGroupIngress ${retryError}`,
      'RevokeSecurityGroupIngress ok'
    ])
    expect(problems(s)).toEqual([])
    expect(await idleRerun(s)).toBe(0)
    s.stop()
  })

  test('a genuine lack of room (a foreign rule took the last slot): exit 1, a correct explanation, no revoke', async () => {
    aws.ec2.authorizeCheckOrder = order
    const s = scenario()
    onFirst(s, 'AuthorizeSecurityGroupIngress', () => {
      aws.ec2.addIngress(s.groupId, [
        { protocol: 'tcp', fromPort: 8443, toPort: 8443, cidr: '192.0.2.0/24', description: 'x' }
      ])
      return undefined
    })
    const from = aws.ec2.calls.length
    const result = await run(s)
    const calls = mutations(s, from)
    figures[`genuineQuota ${order}`] = { exit: result.exitCode, calls, errors: errorLines(result) }
    expect(result.exitCode).toBe(1)
    expect(calls).toEqual([
      'CreateTags ok',
      'AuthorizeSecurityGroupIngress RulesPerSecurityGroupLimitExceeded'
    ])
    const errors = errorLines(result).join('\n')
    expect(errors).toContain(s.groupId)
    expect(errors).toMatch(/fewer free rule slots than max-rules-per-group assumed/)
    expect(errors).toMatch(/revokes postponed/)
    expect(s.monitor.violations).toEqual([])
    // Once the blocker is gone, the next run converges.
    aws.ec2.removeIngress(s.groupId, rule => rule.fromPort === 8443)
    expect((await run(s)).exitCode).toBe(0)
    expect(problems(s)).toEqual([])
    s.stop()
  })
})

test('the answer to a revoke is lost, the retry meets InvalidPermission.NotFound: exit 0, exact, idle rerun', async () => {
  const s = scenario()
  onFirst(s, 'RevokeSecurityGroupIngress', () => ({ kind: 'drop-after' }))
  const from = aws.ec2.calls.length
  const result = await run(s)
  const calls = mutations(s, from)
  figures.lostRevoke = { exit: result.exitCode, calls }
  expect(result.exitCode).toBe(0)
  expect(calls).toEqual([
    'CreateTags ok',
    'AuthorizeSecurityGroupIngress ok',
    'RevokeSecurityGroupIngress ConnectionDroppedAfterCommit',
    'RevokeSecurityGroupIngress InvalidPermission.NotFound'
  ])
  expect(problems(s)).toEqual([])
  expect(await idleRerun(s)).toBe(0)
  s.stop()
})

test('no secret value in anything these runs printed or wrote', () => {
  expect(runner.captured.length).toBeGreaterThanOrEqual(8)
  expect(
    findSecrets(
      runner.captured,
      ALL_LANES.map(lane => lane.secret)
    )
  ).toEqual([])
})
